locals {
  secrets = merge(
    { grafana-admin-password = var.grafana_admin_password, gateway-peer-token = var.gateway_peer_token },
    var.jwt_secret != "" ? { jwt-secret = var.jwt_secret } : {},
  )
  # The Kubernetes service account External Secrets authenticates as (k8s/templates/secrets.yaml).
  secret_reader_ksa = "secret-manager"
}

# Secrets live in Secret Manager; External Secrets (installed beside the chart) copies them into
# Kubernetes Secrets, reading with a Google identity that may read these secrets and nothing else.
resource "google_secret_manager_secret" "cluster" {
  for_each  = nonsensitive(toset(keys(local.secrets)))
  secret_id = "${var.name}-gke-${each.key}"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "cluster" {
  for_each    = nonsensitive(toset(keys(local.secrets)))
  secret      = google_secret_manager_secret.cluster[each.key].id
  secret_data = local.secrets[each.key]
}

resource "google_service_account" "secrets" {
  account_id   = "${var.name}-gke-secrets"
  display_name = "Speech translation secret reader (External Secrets)"
  depends_on   = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "secrets" {
  for_each  = nonsensitive(toset(keys(local.secrets)))
  secret_id = google_secret_manager_secret.cluster[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.secrets.email}"
}

# Workload Identity: the chart's secret-manager service account acts as the Google one above.
resource "google_service_account_iam_member" "secrets" {
  service_account_id = google_service_account.secrets.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.namespace}/${local.secret_reader_ksa}]"
  depends_on         = [google_container_cluster.main] # the identity pool exists once the cluster does
}
