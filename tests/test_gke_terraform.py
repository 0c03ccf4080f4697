"""terraform/gke, read offline (the Google provider cannot be downloaded here, so no validate or plan;
`terraform fmt -check` covers it in test_deploy.py): the points of the cluster's review, one check each."""

from __future__ import annotations

import re
from pathlib import Path

GKE = Path(__file__).resolve().parent.parent / "terraform" / "gke"


def block(file: str, header: str) -> str:
    """The text of one top-level block (`resource "type" "name"`), up to the next top-level one."""
    text = (GKE / file).read_text()
    start = text.index(header)
    end = re.search(r"^\S", text[start + len(header):], re.M)
    return text[start:start + len(header) + (end.start() if end else len(text))]


def test_the_cluster_is_regional_private_and_enforces_network_policies_with_workload_identity():
    cluster = block("cluster.tf", 'resource "google_container_cluster" "main"')
    assert re.search(r"^  location\s+= var.region", cluster, re.M)  # a region, not a zone
    assert re.search(r"enable_private_nodes\s+= true", cluster)
    assert 'workload_pool = "${var.project_id}.svc.id.goog"' in cluster
    assert 'datapath_provider = "ADVANCED_DATAPATH"' in cluster  # Dataplane V2 enforces NetworkPolicy
    assert "min_master_version       = var.kubernetes_version" in cluster
    for pool in ("cpu", "gpu"):
        node_pool = block("cluster.tf", f'resource "google_container_node_pool" "{pool}"')
        # Pods see Workload Identity, never the node's own account.
        assert re.findall(r'mode = "(\w+)"', node_pool) == ["GKE_METADATA"], pool
    assert "private_ip_google_access = true" in (GKE / "network.tf").read_text()


def test_the_gpu_pool_autoscales_within_variable_bounds_with_drivers_installed_by_gke():
    pool = block("cluster.tf", 'resource "google_container_node_pool" "gpu"')
    assert "total_min_node_count = var.gpu_nodes_min" in pool and "total_max_node_count = var.gpu_nodes_max" in pool
    assert re.search(r"type\s+= var.gpu_type", pool) and re.search(r"count\s+= var.gpus_per_node", pool)
    assert "gpu_driver_installation_config" in pool and "gpu_driver_version = var.gpu_driver_version" in pool
    default_gpu = re.search(r'variable "gpu_type".*?default\s*=\s*"([^"]+)"', (GKE / "variables.tf").read_text(), re.S)
    assert default_gpu.group(1) == "nvidia-l4"


def test_the_load_balancer_gets_a_static_ip_and_a_google_managed_certificate():
    network = (GKE / "network.tf").read_text()
    assert 'resource "google_compute_global_address" "web"' in network  # global: the HTTPS load balancer's
    certificate = block("network.tf", 'resource "google_compute_managed_ssl_certificate" "web"')
    assert "domains = [var.domain]" in certificate


def test_secret_values_stay_in_secret_manager_and_the_printed_values_carry_none():
    outputs = (GKE / "outputs.tf").read_text()
    assert "var.grafana_admin_password" not in outputs and "var.jwt_secret" not in outputs
    assert "secret_data = local.secrets[each.key]" in (GKE / "secrets.tf").read_text()
    for name in ("grafana_admin_password", "jwt_secret"):
        variable = block("variables.tf", f'variable "{name}"')
        assert "sensitive   = true" in variable, name
