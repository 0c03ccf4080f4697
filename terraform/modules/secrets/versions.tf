# The one statement of the Terraform and Google provider versions, for both roots (terraform/ and
# terraform/gke/): a module cannot declare a root's requirements for it, but Terraform holds the whole
# configuration, root and every module it calls, to each module's required_version and provider
# constraints. Both roots call this module, so each keeps only its provider's settings.
terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}
