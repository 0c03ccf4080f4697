locals {
  node_tag = "${var.name}-gke-node"
  # The Prometheus adapter's port (k8s/templates/prometheus-adapter.yaml): the API server calls it for
  # custom metrics, and GKE opens only 443 and 10250 from a private control plane to the nodes.
  adapter_port = 6443
}

# A network of its own (the default VPC's rules open SSH and RDP to the world), VPC-native: pods and
# services get ranges of their own, and the load balancer sends traffic straight to pod IPs (NEGs).
resource "google_compute_network" "vpc" {
  name                    = "${var.name}-gke-vpc"
  auto_create_subnetworks = false
  depends_on              = [google_project_service.apis]
}

resource "google_compute_subnetwork" "nodes" {
  name          = "${var.name}-gke-nodes"
  network       = google_compute_network.vpc.id
  region        = var.region
  ip_cidr_range = "10.20.0.0/20"
  # Private nodes reach Artifact Registry and Google APIs without external addresses.
  private_ip_google_access = true
  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = "10.24.0.0/14"
  }
  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = "10.28.0.0/20"
  }
}

# Private nodes have no external address: Cloud NAT for what lives outside Google (Docker Hub's
# Prometheus and Grafana images, an identity provider's JWKS).
resource "google_compute_router" "nat" {
  name    = "${var.name}-gke-router"
  region  = var.region
  network = google_compute_network.vpc.id
}

resource "google_compute_router_nat" "nat" {
  name                               = "${var.name}-gke-nat"
  router                             = google_compute_router.nat.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}

resource "google_compute_firewall" "adapter" {
  name          = "${var.name}-gke-allow-metrics-adapter"
  network       = google_compute_network.vpc.name
  direction     = "INGRESS"
  source_ranges = [var.master_cidr]
  target_tags   = [local.node_tag]
  allow {
    protocol = "tcp"
    ports    = [tostring(local.adapter_port)]
  }
}

# The load balancer's address and certificate: the Ingress names both (helm values).
resource "google_compute_global_address" "web" {
  name       = "${var.name}-gke-ip"
  depends_on = [google_project_service.apis]
}

resource "google_compute_managed_ssl_certificate" "web" {
  name = "${var.name}-gke-cert"
  managed {
    domains = [var.domain]
  }
  depends_on = [google_project_service.apis]
}
