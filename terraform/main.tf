locals {
  network_tag = "${var.name}-web"
  # A2 and G2 machines come with their GPUs; N1 machines get them attached.
  attach_gpus = startswith(var.machine_type, "n1-")
  ssh_ranges  = concat(var.ssh_via_iap ? ["35.235.240.0/20"] : [], var.ssh_source_ranges)
  # The GPU each machine family carries (n1 takes a T4 attached); a mismatch fails at the API otherwise.
  family_gpu = {
    "g2" = "nvidia-l4"
    "a2" = "nvidia-tesla-a100"
    "n1" = "nvidia-tesla-t4"
  }
  # What s2st.service runs (terraform/systemd/), retried until it succeeds.
  deploy_script = templatefile("${path.module}/deploy.sh.tftpl", {
    project_id      = var.project_id
    repo_url        = var.repo_url
    repo_ref        = var.repo_ref
    domain          = var.domain
    acme_email      = var.acme_email
    workers_per_gpu = var.workers_per_gpu
    image_prefix    = var.image_prefix
    image_tag       = var.image_tag
    jwt_jwks_url    = var.jwt_jwks_url
    jwt_issuer      = var.jwt_issuer
    secret_ids      = module.secrets.secret_ids
  })
  secrets = merge(
    { grafana-admin-password = var.grafana_admin_password },
    var.jwt_secret != "" ? { jwt-secret = var.jwt_secret } : {},
  )
}

# The APIs this root uses, enabled first: everything that calls one depends on this, so a first apply
# in a blank project cannot race the enabling.
resource "google_project_service" "apis" {
  for_each = toset([
    "compute.googleapis.com",
    "iam.googleapis.com",
    "secretmanager.googleapis.com",
    "artifactregistry.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}

moved {
  from = google_project_service.secretmanager
  to   = google_project_service.apis["secretmanager.googleapis.com"]
}

# Secrets live in Secret Manager, readable by the VM's identity only: instance metadata would expose
# them to anyone with compute.instances.get and to every container through the metadata server.
module "secrets" {
  source     = "./modules/secrets"
  id_prefix  = "${var.name}-"
  secrets    = local.secrets
  reader     = "serviceAccount:${google_service_account.vm.email}"
  depends_on = [google_project_service.apis]
}

# Where the secrets stood before the module: existing state moves to the module's addresses, unchanged.
moved {
  from = google_secret_manager_secret.stack
  to   = module.secrets.google_secret_manager_secret.stored
}

moved {
  from = google_secret_manager_secret_version.stack
  to   = module.secrets.google_secret_manager_secret_version.stored
}

moved {
  from = google_secret_manager_secret_iam_member.vm
  to   = module.secrets.google_secret_manager_secret_iam_member.reader
}

# A network of its own: the default VPC's rules open SSH and RDP to the world.
resource "google_compute_network" "vpc" {
  name                    = "${var.name}-vpc"
  auto_create_subnetworks = false
  depends_on              = [google_project_service.apis]
}

resource "google_compute_subnetwork" "vm" {
  name          = "${var.name}-subnet"
  network       = google_compute_network.vpc.id
  region        = var.region
  ip_cidr_range = "10.10.0.0/24"
}

# A dedicated identity with only what the VM needs: write logs and metrics, pull images.
resource "google_service_account" "vm" {
  account_id   = "${var.name}-vm"
  display_name = "Speech translation VM"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "vm" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/artifactregistry.reader",
  ])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.vm.email}"
}

resource "google_compute_address" "web" {
  name       = "${var.name}-ip"
  region     = var.region
  depends_on = [google_project_service.apis]
}

# Only HTTP (redirect + ACME) and HTTPS reach the VM; gRPC, Prometheus and Grafana stay inside.
resource "google_compute_firewall" "web" {
  name          = "${var.name}-allow-web"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = ["0.0.0.0/0"]
  target_tags   = [local.network_tag]
  allow {
    protocol = "tcp"
    ports    = ["80", "443"]
  }
  allow {
    protocol = "udp"
    ports    = ["443"]
  }
}

# SSH from Google's IAP forwarding range (ssh_via_iap) and from the listed ranges only.
resource "google_compute_firewall" "ssh" {
  count         = length(local.ssh_ranges) > 0 ? 1 : 0
  name          = "${var.name}-allow-ssh"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = local.ssh_ranges
  target_tags   = [local.network_tag]
  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

resource "google_compute_instance" "vm" {
  name         = "${var.name}-vm"
  machine_type = var.machine_type
  zone         = var.zone
  tags         = [local.network_tag]
  # Changing the machine type stops the VM instead of refusing the apply.
  allow_stopping_for_update = true

  boot_disk {
    initialize_params {
      # Deep Learning VM: the NVIDIA driver (Docker and the container toolkit are installed when missing).
      image = var.boot_image
      size  = var.boot_disk_gb
      type  = "pd-balanced"
    }
  }

  dynamic "guest_accelerator" {
    for_each = local.attach_gpus ? [1] : []
    content {
      type  = var.gpu_type
      count = var.gpu_count
    }
  }

  scheduling {
    # GPU VMs cannot live-migrate.
    on_host_maintenance = "TERMINATE"
    automatic_restart   = true
  }

  network_interface {
    subnetwork = google_compute_subnetwork.vm.id
    access_config {
      nat_ip = google_compute_address.web.address
    }
  }

  service_account {
    email  = google_service_account.vm.email
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot = false # the NVIDIA driver module is unsigned
  }

  metadata = {
    install-nvidia-driver = "True"
    enable-oslogin        = "TRUE"
    # Only OS Login users (IAM) get in: no project-wide key reaches this VM.
    block-project-ssh-keys = "TRUE"
    # No secrets here: the deploy reads them from Secret Manager.
    startup-script = templatefile("${path.module}/startup.sh.tftpl", {
      deploy_script = local.deploy_script
      units         = { for name in fileset("${path.module}/systemd", "*") : name => file("${path.module}/systemd/${name}") }
    })
  }

  lifecycle {
    # An image family resolves to its newest image: without this, every later apply would replace the VM.
    ignore_changes = [boot_disk[0].initialize_params[0].image]
    precondition {
      condition     = local.family_gpu[split("-", var.machine_type)[0]] == var.gpu_type
      error_message = "gpu_type does not fit machine_type: g2 machines carry nvidia-l4, a2 nvidia-tesla-a100, n1 takes nvidia-tesla-t4."
    }
    precondition {
      condition     = local.attach_gpus || var.gpu_count == 1
      error_message = "gpu_count applies to n1 machines only: g2 and a2 machine types come with their GPUs (2 L4: g2-standard-24)."
    }
    precondition {
      condition     = var.allow_anonymous || var.jwt_secret != "" || var.jwt_jwks_url != ""
      error_message = "/ws would be open to anyone: set jwt_secret or jwt_jwks_url, or allow_anonymous = true on purpose."
    }
    precondition {
      condition     = var.image_prefix == "" || var.image_tag != ""
      error_message = "image_tag is required with image_prefix: deploy a release, never latest."
    }
  }

  # The deploy reads the secrets at boot: they, their values and the VM's access to them exist first.
  depends_on = [google_project_iam_member.vm, module.secrets]
}
