variable "project_id" {
  description = "GCP project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the static IP and the VM."
  type        = string
  default     = "us-central1"
}

variable "zone" {
  description = "Zone of the VM; it must offer the chosen GPU type."
  type        = string
  default     = "us-central1-a"
}

variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "s2st"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name: lower-case letters, digits and dashes, 2-21 characters, starting with a letter."
  }
}

variable "gpu_type" {
  description = "NVIDIA GPU: nvidia-l4 (g2 machines), nvidia-tesla-t4 (n1 machines) or nvidia-tesla-a100 (a2 machines)."
  type        = string
  default     = "nvidia-l4"
  validation {
    condition     = contains(["nvidia-l4", "nvidia-tesla-t4", "nvidia-tesla-a100"], var.gpu_type)
    error_message = "gpu_type must be nvidia-l4, nvidia-tesla-t4 or nvidia-tesla-a100."
  }
}

variable "machine_type" {
  description = "Machine type matching the GPU: g2-standard-4 (L4), n1-standard-8 (T4), a2-highgpu-1g (A100)."
  type        = string
  default     = "g2-standard-4"
  validation {
    condition     = can(regex("^(g2|n1|a2)-", var.machine_type))
    error_message = "machine_type must be a GPU-capable family: g2-*, n1-* (with T4) or a2-*."
  }
}

variable "gpu_count" {
  description = "GPUs attached to the VM (one inference worker each)."
  type        = number
  default     = 1
  validation {
    condition     = var.gpu_count >= 1 && var.gpu_count <= 8
    error_message = "gpu_count must be between 1 and 8."
  }
}

variable "workers" {
  description = "Inference worker containers on the VM; at most one per GPU is sensible."
  type        = number
  default     = 1
  validation {
    condition     = var.workers >= 1 && var.workers <= 8
    error_message = "workers must be between 1 and 8."
  }
}

variable "boot_disk_gb" {
  description = "Boot disk size; the GPU image with baked weights needs about 40 GB."
  type        = number
  default     = 150
  validation {
    condition     = var.boot_disk_gb >= 100
    error_message = "boot_disk_gb must be at least 100."
  }
}

variable "domain" {
  description = "DNS name that will point at the static IP; Caddy gets its certificate for it. Leave empty to use <ip>.sslip.io."
  type        = string
  default     = ""
}

variable "acme_email" {
  description = "E-mail for Let's Encrypt notices."
  type        = string
  default     = ""
}

variable "ssh_source_ranges" {
  description = "CIDR ranges allowed to SSH in (port 22). Empty: no SSH rule at all (use IAP or the serial console)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for cidr in var.ssh_source_ranges : can(cidrhost(cidr, 0))])
    error_message = "ssh_source_ranges must be CIDR ranges such as 203.0.113.4/32."
  }
}

variable "repo_url" {
  description = "Git repository the VM checks out to run the compose stack."
  type        = string
}

variable "repo_ref" {
  description = "Branch, tag or commit of repo_url to deploy."
  type        = string
  default     = "main"
}

variable "image_prefix" {
  description = "Registry prefix of prebuilt images (e.g. us-central1-docker.pkg.dev/PROJECT/s2st). Empty: build on the VM."
  type        = string
  default     = ""
}

variable "grafana_admin_password" {
  description = "Password of Grafana's admin user (https://DOMAIN/grafana/)."
  type        = string
  sensitive   = true
}

variable "session_token_secret" {
  description = "Optional HMAC secret for short-lived /ws session tokens; empty leaves /ws open."
  type        = string
  default     = ""
  sensitive   = true
}
