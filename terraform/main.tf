locals {
  network_tag = "${var.name}-web"
  domain      = var.domain != "" ? var.domain : "${google_compute_address.web.address}.sslip.io"
  # A2 and G2 machine types come with their GPUs; N1 machines get them attached.
  attach_gpus = startswith(var.machine_type, "n1-")
}

# A dedicated identity with only what the VM needs: write logs and metrics, pull images.
resource "google_service_account" "vm" {
  account_id   = "${var.name}-vm"
  display_name = "Speech translation VM"
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
  name   = "${var.name}-ip"
  region = var.region
}

# Only HTTP (redirect + ACME) and HTTPS reach the VM; gRPC, Prometheus and Grafana stay inside.
resource "google_compute_firewall" "web" {
  name          = "${var.name}-allow-web"
  network       = "default"
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

resource "google_compute_firewall" "ssh" {
  count         = length(var.ssh_source_ranges) > 0 ? 1 : 0
  name          = "${var.name}-allow-ssh"
  network       = "default"
  direction     = "INGRESS"
  source_ranges = var.ssh_source_ranges
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

  boot_disk {
    initialize_params {
      # Deep Learning VM: NVIDIA driver (installed on first boot), Docker and the NVIDIA container toolkit.
      image = "projects/deeplearning-platform-release/global/images/family/common-cu123-debian-11-py310"
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
    network = "default"
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
    startup-script = templatefile("${path.module}/startup.sh.tftpl", {
      repo_url               = var.repo_url
      repo_ref               = var.repo_ref
      domain                 = local.domain
      acme_email             = var.acme_email
      workers                = var.workers
      image_prefix           = var.image_prefix
      grafana_admin_password = var.grafana_admin_password
      session_token_secret   = var.session_token_secret
    })
  }

  depends_on = [google_project_iam_member.vm]
}
