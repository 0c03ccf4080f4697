# The Terraform and Google provider versions are stated once, in modules/secrets/versions.tf, which
# this root calls: Terraform holds every module of a configuration to them (see there).
provider "google" {
  project = var.project_id
  region  = var.region
  zone    = var.zone
}
