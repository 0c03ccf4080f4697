"""terraform/gke, read offline through an HCL parser (the Google provider cannot be downloaded here, so no validate
or plan; `terraform fmt -check` covers it in test_deploy.py): the points of the cluster's reviews, one check each."""

from __future__ import annotations

import re
from pathlib import Path

from harness.terraform import Root

GKE = Root(Path(__file__).resolve().parent.parent / "terraform" / "gke")
CLUSTER = GKE.resource("google_container_cluster", "main")
POOLS = GKE.resources["google_container_node_pool"]
# What an operator would set (terraform.tfvars).
VARIABLES = {"project_id": "my-project", "domain": "translate.example.com", "image_prefix": "r.example/p/s2st",
             "image_tag": "v1.0.0", "authorized_networks": ["203.0.113.4/32"],
             "grafana_admin_password": "an-operator-chosen-secret", "jwt_secret": "s" * 40,
             "gateway_peer_token": "p" * 40}


def preconditions(resource: dict) -> list[str]:
    return [check["condition"] for block in resource.get("lifecycle", []) for check in block.get("precondition", [])]


def test_the_cluster_is_regional_private_and_enforces_network_policies_with_workload_identity():
    assert CLUSTER["location"] == "${var.region}"  # a region, not a zone
    assert CLUSTER["private_cluster_config"][0]["enable_private_nodes"] is True
    assert CLUSTER["workload_identity_config"][0]["workload_pool"] == "${var.project_id}.svc.id.goog"
    assert CLUSTER["datapath_provider"] == "ADVANCED_DATAPATH"  # Dataplane V2 enforces NetworkPolicy
    assert CLUSTER["min_master_version"] == "${var.kubernetes_version}"
    for name, pool in POOLS.items():
        # Pods see Workload Identity, never the node's own account.
        assert pool["node_config"][0]["workload_metadata_config"] == [{"mode": "GKE_METADATA"}], name
    assert GKE.resource("google_compute_subnetwork", "nodes")["private_ip_google_access"] is True


def test_the_gpu_pool_autoscales_within_variable_bounds_with_drivers_installed_by_gke():
    pool = POOLS["gpu"]
    autoscaling = pool["autoscaling"][0]
    assert (autoscaling["total_min_node_count"], autoscaling["total_max_node_count"]) == \
        ("${var.gpu_nodes_min}", "${var.gpu_nodes_max}")
    accelerator = pool["node_config"][0]["guest_accelerator"][0]
    assert (accelerator["type"], accelerator["count"]) == ("${var.gpu_type}", "${var.gpus_per_node}")
    assert accelerator["gpu_driver_installation_config"][0]["gpu_driver_version"] == "${var.gpu_driver_version}"
    assert GKE.default("gpu_type") == "nvidia-l4"


def test_image_streaming_has_its_api_and_the_node_role_it_needs():
    assert POOLS["gpu"]["node_config"][0]["gcfs_config"] == [{"enabled": True}]
    apis = GKE.resource("google_project_service", "apis")["for_each"]
    assert "containerfilesystem.googleapis.com" in apis and "iam.googleapis.com" in apis
    roles = GKE.resource("google_project_iam_member", "nodes")["for_each"]
    assert "roles/serviceusage.serviceUsageConsumer" in roles
    for name, pool in POOLS.items():
        assert pool["node_config"][0]["service_account"] == "${google_service_account.nodes.email}", name


def test_first_applies_cannot_race_the_apis_they_call():
    for kind in ("google_service_account", "google_compute_network", "google_compute_global_address",
                 "google_container_cluster"):
        for name, body in GKE.resources[kind].items():  # the secrets: tests/test_terraform_secrets.py
            assert "${google_project_service.apis}" in body.get("depends_on", []), f"{kind}.{name}"


def test_node_upgrades_wait_for_a_maintenance_window_and_the_api_endpoint_is_not_open_by_default():
    window = CLUSTER["maintenance_policy"][0]["recurring_window"][0]
    assert window == {"start_time": "${var.maintenance_start}", "end_time": "${var.maintenance_end}",
                      "recurrence": "${var.maintenance_recurrence}"}
    assert re.fullmatch(r"FREQ=WEEKLY;BYDAY=[A-Z,]+", GKE.default("maintenance_recurrence"))
    # No default: an operator names where kubectl runs (0.0.0.0/0 only on purpose), and the list is always applied.
    networks = GKE.variables["authorized_networks"]
    assert "default" not in networks
    assert "length(var.authorized_networks) > 0" in networks["validation"][0]["condition"]
    assert "dynamic" not in CLUSTER or not any("master_authorized_networks_config" in d for d in CLUSTER["dynamic"])
    authorized = CLUSTER["master_authorized_networks_config"][0]["dynamic"][0]["cidr_blocks"]
    assert authorized["for_each"] == "${var.authorized_networks}"


def test_ws_is_not_open_to_the_internet_unless_asked_for():
    assert GKE.default("allow_anonymous") is False
    checks = [c for c in preconditions(CLUSTER) if "allow_anonymous" in c]
    assert len(checks) == 1
    assert GKE.render(checks[0], {**VARIABLES, "jwt_secret": ""}, {}) is False
    assert GKE.render(checks[0], {**VARIABLES, "jwt_secret": "", "allow_anonymous": True}, {}) is True
    assert GKE.render(checks[0], VARIABLES, {}) is True


def test_the_load_balancer_gets_a_static_ip_and_a_google_managed_certificate():
    assert "web" in GKE.resources["google_compute_global_address"]  # global: the HTTPS load balancer's
    certificate = GKE.resource("google_compute_managed_ssl_certificate", "web")
    assert certificate["managed"][0]["domains"] == ["${var.domain}"]


def test_secret_values_stay_in_secret_manager_and_the_printed_values_carry_none():
    helm_values = GKE.outputs["helm_values"]["value"]
    # The secrets module stores local.secrets as they are: tests/test_terraform_secrets.py.
    for name in ("grafana_admin_password", "jwt_secret", "gateway_peer_token"):
        assert GKE.variables[name]["sensitive"] is True, name
        assert f"var.{name}" not in helm_values, name


def test_the_gateways_peer_token_is_a_secret_of_its_own_in_secret_manager():
    """The chart's gateways name themselves, so each needs S2ST_GATEWAY_PEER_TOKEN: terraform stores the
    operator's token in Secret Manager beside the others (the chart test follows it from there to the pods)."""
    secrets = GKE.render("${local.secrets}", VARIABLES, {})
    assert secrets["gateway-peer-token"] == VARIABLES["gateway_peer_token"]
    assert 'module.secrets.secret_ids["gateway-peer-token"]' in \
        GKE.outputs["helm_values"]["value"]
