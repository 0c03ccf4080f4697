output "url" {
  description = "Public HTTPS address of the service (point the domain's A record at ip first, if you set one)."
  value       = "https://${var.domain}"
}

output "ip" {
  description = "Static external IP of the VM."
  value       = google_compute_address.web.address
}

output "grafana" {
  description = "Grafana is not public: tunnel to the VM's loopback, then open http://localhost:3000 (user admin)."
  value       = "gcloud compute ssh ${google_compute_instance.vm.name} --zone ${var.zone} --project ${var.project_id} --tunnel-through-iap -- -L 3000:localhost:3000"
}

output "ssh" {
  description = "How to reach the VM: through IAP (ssh_via_iap), or drop --tunnel-through-iap from an address in ssh_source_ranges."
  value       = "gcloud compute ssh ${google_compute_instance.vm.name} --zone ${var.zone} --project ${var.project_id} --tunnel-through-iap"
}
