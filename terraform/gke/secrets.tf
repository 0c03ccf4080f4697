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
module "secrets" {
  source     = "../modules/secrets"
  id_prefix  = "${var.name}-gke-"
  secrets    = local.secrets
  reader     = "serviceAccount:${google_service_account.secrets.email}"
  depends_on = [google_project_service.apis]
}

# Where the secrets stood before the module: existing state moves to the module's addresses, unchanged.
moved {
  from = google_secret_manager_secret.cluster
  to   = module.secrets.google_secret_manager_secret.stored
}

moved {
  from = google_secret_manager_secret_version.cluster
  to   = module.secrets.google_secret_manager_secret_version.stored
}

moved {
  from = google_secret_manager_secret_iam_member.secrets
  to   = module.secrets.google_secret_manager_secret_iam_member.reader
}

resource "google_service_account" "secrets" {
  account_id   = "${var.name}-gke-secrets"
  display_name = "Speech translation secret reader (External Secrets)"
  depends_on   = [google_project_service.apis]
}

# Workload Identity: the chart's secret-manager service account acts as the Google one above.
resource "google_service_account_iam_member" "secrets" {
  service_account_id = google_service_account.secrets.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.namespace}/${local.secret_reader_ksa}]"
  depends_on         = [google_container_cluster.main] # the identity pool exists once the cluster does
}
