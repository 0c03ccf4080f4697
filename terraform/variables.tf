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
    # 3 characters at least: the service account id "<name>-vm" needs 6.
    condition     = can(regex("^[a-z][a-z0-9-]{2,19}$", var.name))
    error_message = "name: lower-case letters, digits and dashes, 3-20 characters, starting with a letter."
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
  description = "GPUs attached to an n1 machine. g2 and a2 machine types come with theirs (2 L4: g2-standard-24; 4: g2-standard-48). The VM runs workers_per_gpu workers on every GPU it has."
  type        = number
  default     = 1
  validation {
    condition     = var.gpu_count >= 1 && var.gpu_count <= 8
    error_message = "gpu_count must be between 1 and 8."
  }
}

variable "workers_per_gpu" {
  description = "Inference workers on each GPU, each pinned to it by device id. Above 1 they share the GPU through CUDA MPS: for GPUs that hold several copies of the model (an A100 80 GB or H100 holds several fp16 copies; an L4 holds one)."
  type        = number
  default     = 1
  validation {
    condition     = var.workers_per_gpu >= 1 && var.workers_per_gpu <= 8
    error_message = "workers_per_gpu must be between 1 and 8."
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
  description = "DNS name you control, pointed at the static IP (output ip); Caddy gets its certificate for it. Shared names such as <ip>.sslip.io often hit Let's Encrypt's rate limits."
  type        = string
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be a DNS name such as translate.example.com."
  }
}

variable "acme_email" {
  description = "E-mail for Let's Encrypt notices (required: Caddy does not start with an empty one)."
  type        = string
  validation {
    condition     = can(regex("^[^@\\s']+@[^@\\s']+\\.[^@\\s']+$", var.acme_email))
    error_message = "acme_email must be an e-mail address."
  }
}

variable "boot_image" {
  description = "Boot image: a Deep Learning VM family (Ubuntu 22.04, CUDA 12, NVIDIA driver 535 or later) or an exact image. A family resolves only to images that are not deprecated, so pick one inside its patch window (docs/deploy.md, \"Boot image\"); later applies ignore newer images (no VM replacement). Docker and the container toolkit are installed at boot when the image lacks them."
  type        = string
  default     = "projects/deeplearning-platform-release/global/images/family/common-cu129-ubuntu-2204-nvidia-580"
  validation {
    condition     = can(regex("^projects/[a-z0-9-]+/global/images/(family/)?[a-z0-9-]+$", var.boot_image))
    error_message = "boot_image must be projects/PROJECT/global/images/family/FAMILY or projects/PROJECT/global/images/IMAGE."
  }
}

variable "ssh_via_iap" {
  description = "Allow SSH from Google's IAP range only (gcloud compute ssh --tunnel-through-iap)."
  type        = bool
  default     = true
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
  description = "Release tag (v1.2.3) or full commit of repo_url to deploy: never a branch, so that a reboot cannot ship unreviewed code. Change it and apply to update; set the previous one to roll back."
  type        = string
  validation {
    condition     = can(regex("^(v[0-9][0-9A-Za-z.+-]*|[0-9a-f]{40})$", var.repo_ref))
    error_message = "repo_ref must be a release tag such as v1.2.0 or a full 40-character commit hash."
  }
}

variable "image_tag" {
  description = "Tag of the prebuilt images under image_prefix (e.g. v1.2.0); never latest. Ignored when images are built on the VM."
  type        = string
  default     = ""
  validation {
    condition     = var.image_tag != "latest"
    error_message = "image_tag must name a release, not latest."
  }
}

variable "image_prefix" {
  description = "Registry prefix of prebuilt images (e.g. us-central1-docker.pkg.dev/PROJECT/s2st). Empty: build on the VM."
  type        = string
  default     = ""
}

variable "grafana_admin_password" {
  description = "Password of Grafana's admin user (reached through the tunnel in output grafana), 16 characters or more. Stored in Secret Manager; it stays in the Terraform state too, so keep the state private."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.grafana_admin_password) >= 16 && !strcontains(lower(var.grafana_admin_password), "change-me") && !strcontains(var.grafana_admin_password, "'")
    error_message = "grafana_admin_password: 16 characters or more, no single quote, not the example's."
  }
}

variable "allow_anonymous" {
  description = "Leave /ws open to anyone who reaches the URL (a public GPU endpoint): only on purpose. Without it, the apply needs jwt_secret or jwt_jwks_url."
  type        = bool
  default     = false
}

variable "jwt_secret" {
  description = "HS256 secret of the JWT session tokens your backend mints for /ws (32 bytes or more). This, jwt_jwks_url or allow_anonymous = true is required. Stored in Secret Manager."
  type        = string
  default     = ""
  sensitive   = true
  validation {
    condition     = var.jwt_secret == "" || (length(var.jwt_secret) >= 32 && !strcontains(var.jwt_secret, "'"))
    error_message = "jwt_secret: empty, or 32 characters or more without a single quote."
  }
}

variable "jwt_jwks_url" {
  description = "Optional JWKS URL of your identity provider (https): /ws then takes its RS256/ES256 tokens."
  type        = string
  default     = ""
  validation {
    condition     = var.jwt_jwks_url == "" || can(regex("^https://[^'\\s]+$", var.jwt_jwks_url))
    error_message = "jwt_jwks_url must be an https:// URL without quotes or spaces."
  }
}

variable "jwt_issuer" {
  description = "Optional `iss` every session token must carry (your identity provider's issuer)."
  type        = string
  default     = ""
  validation {
    condition     = !strcontains(var.jwt_issuer, "'")
    error_message = "jwt_issuer must not contain a single quote."
  }
}
