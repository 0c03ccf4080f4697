output "secret_ids" {
  description = "Each secret's id in Secret Manager, by key: what a reader asks Secret Manager for."
  value       = { for key, secret in google_secret_manager_secret.stored : key => secret.secret_id }
}
