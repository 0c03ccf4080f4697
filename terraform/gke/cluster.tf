resource "google_container_cluster" "main" {
  name     = var.name
  location = var.region # regional: the control plane survives a zone, node pools span the zones
  # Node pools are managed below; the default pool only exists while the cluster is created.
  remove_default_node_pool = true
  initial_node_count       = 1
  deletion_protection      = var.deletion_protection
  min_master_version       = var.kubernetes_version

  release_channel {
    channel = "REGULAR"
  }

  network         = google_compute_network.vpc.id
  subnetwork      = google_compute_subnetwork.nodes.id
  networking_mode = "VPC_NATIVE"
  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }
  # Dataplane V2 enforces the chart's NetworkPolicies (only gateways reach the workers).
  datapath_provider = "ADVANCED_DATAPATH"

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false # kubectl from authorized_networks; nodes have no external IP
    master_ipv4_cidr_block  = var.master_cidr
  }

  # Only these ranges reach the API endpoint (a required variable: ["0.0.0.0/0"] opens it on purpose).
  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.authorized_networks
      content {
        cidr_block = cidr_blocks.value
      }
    }
  }

  # Node upgrades (and the drains they cause) happen in this weekly window only, not at any hour.
  maintenance_policy {
    recurring_window {
      start_time = var.maintenance_start
      end_time   = var.maintenance_end
      recurrence = var.maintenance_recurrence
    }
  }

  lifecycle {
    precondition {
      condition     = var.allow_anonymous || var.jwt_secret != ""
      error_message = "/ws would be open to anyone: set jwt_secret, or allow_anonymous = true on purpose."
    }
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  addons_config {
    http_load_balancing {
      disabled = false # GKE Ingress: the HTTPS load balancer in front of the gateways
    }
    horizontal_pod_autoscaling {
      disabled = false
    }
  }

  # GPU memory and utilisation (DCGM) in Cloud Monitoring; the chart's own Prometheus scrapes the services.
  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS", "DCGM"]
    managed_prometheus {
      enabled = true
    }
  }

  depends_on = [google_project_service.apis]
}

# Gateways, Prometheus, Grafana, the metrics adapter.
resource "google_container_node_pool" "cpu" {
  name               = "cpu"
  cluster            = google_container_cluster.main.id
  location           = var.region
  initial_node_count = 1 # per zone
  autoscaling {
    total_min_node_count = var.cpu_nodes_min
    total_max_node_count = var.cpu_nodes_max
    location_policy      = "BALANCED"
  }
  management {
    auto_repair  = true
    auto_upgrade = true
  }
  node_config {
    machine_type    = var.cpu_machine_type
    disk_type       = "pd-balanced"
    disk_size_gb    = 50
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    tags            = [local.node_tag]
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }
}

# Inference workers, one per GPU. GKE installs the NVIDIA driver and taints the nodes
# (nvidia.com/gpu=present:NoSchedule), so only pods that ask for a GPU land here.
resource "google_container_node_pool" "gpu" {
  name               = "gpu"
  cluster            = google_container_cluster.main.id
  location           = var.region
  node_locations     = var.gpu_zones
  initial_node_count = 0
  autoscaling {
    total_min_node_count = var.gpu_nodes_min
    total_max_node_count = var.gpu_nodes_max
    # GPUs run out per zone: take them wherever the region has them.
    location_policy = "ANY"
  }
  management {
    auto_repair  = true
    auto_upgrade = true
  }
  # An upgrade adds a node before it drains one: no capacity dip, but one GPU of quota spare.
  upgrade_settings {
    max_surge       = 1
    max_unavailable = 0
  }
  node_config {
    machine_type = var.gpu_machine_type
    spot         = var.gpu_spot
    guest_accelerator {
      type  = var.gpu_type
      count = var.gpus_per_node
      gpu_driver_installation_config {
        gpu_driver_version = var.gpu_driver_version
      }
    }
    image_type   = "COS_CONTAINERD"
    disk_type    = "pd-balanced"
    disk_size_gb = 200
    # Image streaming: the inference image (weights baked in, about 15 GB) starts before it is fully pulled.
    gcfs_config {
      enabled = true
    }
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    tags            = [local.node_tag]
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    shielded_instance_config {
      enable_secure_boot          = true # GKE's drivers are signed
      enable_integrity_monitoring = true
    }
  }
  lifecycle {
    precondition {
      condition     = alltrue([for zone in var.gpu_zones : startswith(zone, "${var.region}-")])
      error_message = "gpu_zones must be zones of region."
    }
    precondition {
      condition     = var.gpu_nodes_min <= var.gpu_nodes_max
      error_message = "gpu_nodes_min must not exceed gpu_nodes_max."
    }
  }
}
