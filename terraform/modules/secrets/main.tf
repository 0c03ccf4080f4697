# Secrets live in Secret Manager, readable by one identity only (var.reader). The caller makes this
# module depend on the Secret Manager API being enabled, so a first apply cannot race the enabling.

resource "google_secret_manager_secret" "stored" {
  for_each  = nonsensitive(toset(keys(var.secrets)))
  secret_id = "${var.id_prefix}${each.key}"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "stored" {
  for_each    = nonsensitive(toset(keys(var.secrets)))
  secret      = google_secret_manager_secret.stored[each.key].id
  secret_data = var.secrets[each.key]
}

resource "google_secret_manager_secret_iam_member" "reader" {
  for_each  = nonsensitive(toset(keys(var.secrets)))
  secret_id = google_secret_manager_secret.stored[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = var.reader
}
