variable "project_id" {
  description = "GCP project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of the cluster: its control plane and node pools span the region's zones."
  type        = string
  default     = "us-central1"
}

variable "name" {
  description = "Name of the cluster and prefix of every resource; the single-VM root (terraform/) may share the project."
  type        = string
  default     = "s2st"
  validation {
    # 15 characters at most: the service account id "<name>-gke-secrets" has 30.
    condition     = can(regex("^[a-z][a-z0-9-]{2,14}$", var.name))
    error_message = "name: lower-case letters, digits and dashes, 3-15 characters, starting with a letter."
  }
}

variable "kubernetes_version" {
  description = "Oldest Kubernetes minor the cluster may run (the release channel upgrades it from there); the manifests in k8s/ are validated against this version's schemas."
  type        = string
  default     = "1.34"
}

variable "namespace" {
  description = "Namespace the Helm chart (k8s/) is installed into; Workload Identity binds its secret reader there."
  type        = string
  default     = "s2st"
}

variable "domain" {
  description = "DNS name you control, pointed at the static IP (output ip); a Google-managed certificate is issued for it."
  type        = string
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be a DNS name such as translate.example.com."
  }
}

variable "image_prefix" {
  description = "Registry prefix of the images built from Dockerfile.gateway and Dockerfile.inference (e.g. us-central1-docker.pkg.dev/PROJECT/s2st); nodes pull from it."
  type        = string
}

variable "image_tag" {
  description = "Release tag of the images (e.g. v1.2.0); never latest, so every pod of a rollout runs the same code."
  type        = string
  validation {
    condition     = var.image_tag != "" && var.image_tag != "latest"
    error_message = "image_tag must name a release, not latest."
  }
}

variable "authorized_networks" {
  description = "CIDR ranges allowed to reach the cluster's API endpoint (your office, a bastion); required. [\"0.0.0.0/0\"] opens it to any address (still behind IAM): only on purpose."
  type        = list(string)
  validation {
    condition     = length(var.authorized_networks) > 0 && alltrue([for cidr in var.authorized_networks : can(cidrhost(cidr, 0))])
    error_message = "authorized_networks must list CIDR ranges such as 203.0.113.4/32 (0.0.0.0/0 for any address)."
  }
}

variable "maintenance_start" {
  description = "Start of the first weekly maintenance window (RFC 3339, UTC); only its time of day and length matter."
  type        = string
  default     = "2026-01-03T02:00:00Z"
}

variable "maintenance_end" {
  description = "End of that window: GKE needs at least 48 hours of windows in 32 days (here 2 x 6 h a week)."
  type        = string
  default     = "2026-01-03T08:00:00Z"
}

variable "maintenance_recurrence" {
  description = "When the window recurs (RFC 5545 RRULE): Saturday and Sunday nights by default."
  type        = string
  default     = "FREQ=WEEKLY;BYDAY=SA,SU"
}

variable "master_cidr" {
  description = "A /28 for the control plane's private endpoint; must not overlap the VPC's ranges (10.20.0.0/20, 10.24.0.0/14, 10.28.0.0/20)."
  type        = string
  default     = "172.16.0.32/28"
}

variable "deletion_protection" {
  description = "Refuse to destroy the cluster; set false and apply before `terraform destroy`."
  type        = bool
  default     = true
}

variable "cpu_machine_type" {
  description = "Machine type of the CPU pool: gateways (about one core each), Prometheus, Grafana, the metrics adapter."
  type        = string
  default     = "n2-standard-4"
}

variable "cpu_nodes_min" {
  description = "Fewest CPU nodes in the region."
  type        = number
  default     = 2
}

variable "cpu_nodes_max" {
  description = "Most CPU nodes in the region: room for the gateway autoscaler's maximum (k8s/values.yaml) plus monitoring."
  type        = number
  default     = 12
  validation {
    condition     = var.cpu_nodes_max >= 1
    error_message = "cpu_nodes_max must be at least 1."
  }
}

variable "gpu_type" {
  description = "Accelerator of the GPU pool: nvidia-l4 (g2 machines), nvidia-tesla-a100 (a2), nvidia-h100-80gb (a3)."
  type        = string
  default     = "nvidia-l4"
  validation {
    condition     = contains(["nvidia-l4", "nvidia-tesla-a100", "nvidia-h100-80gb"], var.gpu_type)
    error_message = "gpu_type must be nvidia-l4, nvidia-tesla-a100 or nvidia-h100-80gb."
  }
}

variable "gpu_machine_type" {
  description = "Machine type of the GPU pool; it must carry gpu_type (g2-standard-4: one L4, 4 vCPUs, 16 GB)."
  type        = string
  default     = "g2-standard-4"
}

variable "gpus_per_node" {
  description = "GPUs on each GPU node (the machine type fixes it: 1 for g2-standard-4 to -32)."
  type        = number
  default     = 1
}

variable "gpu_zones" {
  description = "Zones of the region that offer gpu_type (gcloud compute accelerator-types list --filter=name=nvidia-l4)."
  type        = list(string)
  default     = ["us-central1-a", "us-central1-b", "us-central1-c"]
}

variable "gpu_nodes_min" {
  description = "Fewest GPU nodes in the region (0 lets an idle cluster cost no GPU; the first session then waits for a node)."
  type        = number
  default     = 1
}

variable "gpu_nodes_max" {
  description = "Most GPU nodes in the region; stay within your GPU quota."
  type        = number
  default     = 4
  validation {
    condition     = var.gpu_nodes_max >= 1
    error_message = "gpu_nodes_max must be at least 1."
  }
}

variable "gpu_spot" {
  description = "Spot GPU nodes: about a third of the price, but GCP may reclaim one with 30 s notice, ending its sessions."
  type        = bool
  default     = false
}

variable "gpu_driver_version" {
  description = "NVIDIA driver GKE installs on the GPU nodes: DEFAULT or LATEST for the node version (the images need CUDA 12.1: driver 530 or later)."
  type        = string
  default     = "DEFAULT"
  validation {
    condition     = contains(["DEFAULT", "LATEST"], var.gpu_driver_version)
    error_message = "gpu_driver_version must be DEFAULT or LATEST."
  }
}

variable "grafana_admin_password" {
  description = "Password of Grafana's admin user (kubectl port-forward only), 16 characters or more. Stored in Secret Manager and in the Terraform state: keep the state private."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.grafana_admin_password) >= 16 && !strcontains(lower(var.grafana_admin_password), "change-me")
    error_message = "grafana_admin_password: 16 characters or more, not the example's."
  }
}

variable "gateway_peer_token" {
  description = "Shared secret (32 bytes or more) the gateways present to each other's peer port when they hand over a room socket (S2ST_GATEWAY_PEER_TOKEN). Stored in Secret Manager and in the Terraform state: keep the state private."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.gateway_peer_token) >= 32
    error_message = "gateway_peer_token: 32 characters or more (openssl rand -base64 48)."
  }
}

variable "allow_anonymous" {
  description = "Leave /ws open to anyone who reaches the URL (a public GPU endpoint): only on purpose. Without it, the apply needs jwt_secret."
  type        = bool
  default     = false
}

variable "jwt_secret" {
  description = "HS256 secret of the session tokens your backend mints (32 bytes or more); required unless allow_anonymous = true. Stored in Secret Manager."
  type        = string
  default     = ""
  sensitive   = true
  validation {
    condition     = var.jwt_secret == "" || length(var.jwt_secret) >= 32
    error_message = "jwt_secret: empty, or 32 characters or more."
  }
}
