# A regional GKE cluster for the service: gateways on a CPU pool, workers on a GPU pool, both behind
# one HTTPS load balancer (GKE Ingress). The Kubernetes side is the Helm chart in k8s/, installed
# with the values `terraform output -raw helm_values` prints.

resource "google_project_service" "apis" {
  for_each = toset([
    "compute.googleapis.com",
    "container.googleapis.com",
    "secretmanager.googleapis.com",
    "artifactregistry.googleapis.com",
    "iamcredentials.googleapis.com",      # External Secrets impersonates its service account through it
    "iam.googleapis.com",                 # the service accounts below
    "containerfilesystem.googleapis.com", # image streaming (the GPU pool's gcfs_config)
  ])
  service            = each.value
  disable_on_destroy = false
}

# The nodes' identity: logs, metrics and image pulls only. Pods get no Google credentials of their
# own (Workload Identity with no binding), except the secret reader in secrets.tf.
resource "google_service_account" "nodes" {
  account_id   = "${var.name}-gke-nodes"
  display_name = "Speech translation GKE nodes"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/container.defaultNodeServiceAccount",
    "roles/artifactregistry.reader",
    # Image streaming calls the Container File System API as the node: without it pods fail to start.
    "roles/serviceusage.serviceUsageConsumer",
  ])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes.email}"
}
