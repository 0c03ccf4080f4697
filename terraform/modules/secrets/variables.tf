variable "id_prefix" {
  description = "Prefix of each secret's id in Secret Manager (the id is the prefix, then the key)."
  type        = string
}

variable "secrets" {
  description = "The values to store, by key. The keys are not secret: they name the secrets."
  type        = map(string)
  sensitive   = true
}

variable "reader" {
  description = "The one IAM member that may read the secrets, e.g. serviceAccount:EMAIL."
  type        = string
}
