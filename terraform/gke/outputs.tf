output "ip" {
  description = "Static IP of the load balancer: point the domain's A record at it. The certificate is issued once it resolves (15-60 minutes)."
  value       = google_compute_global_address.web.address
}

output "get_credentials" {
  description = "Point kubectl at the cluster."
  value       = "gcloud container clusters get-credentials ${google_container_cluster.main.name} --region ${var.region} --project ${var.project_id}"
}

output "helm_values" {
  description = "Values of the chart in k8s/ for this cluster: terraform output -raw helm_values > gke-values.yaml"
  value = templatefile("${path.module}/helm-values.yaml.tftpl", {
    namespace           = var.namespace
    domain              = var.domain
    image_prefix        = var.image_prefix
    image_tag           = var.image_tag
    static_ip_name      = google_compute_global_address.web.name
    static_ip           = google_compute_global_address.web.address
    certificate_name    = google_compute_managed_ssl_certificate.web.name
    gpu_type            = var.gpu_type
    project_id          = var.project_id
    cluster_name        = google_container_cluster.main.name
    cluster_location    = google_container_cluster.main.location
    secret_reader_email = google_service_account.secrets.email
    secret_reader_ksa   = local.secret_reader_ksa
    grafana_secret_id   = module.secrets.secret_ids["grafana-admin-password"]
    peer_token_id       = module.secrets.secret_ids["gateway-peer-token"]
    jwt_secret_id       = lookup(module.secrets.secret_ids, "jwt-secret", "")
  })
}
