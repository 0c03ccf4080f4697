"""terraform/modules/secrets, the Secret Manager secrets both roots (terraform/ and terraform/gke/) call it for, read
offline through the HCL parser as the roots' own tests read them: what each root stores, under which ids, who may
read it, and that a state written before the module existed moves to it instead of being destroyed."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.terraform import Root

TERRAFORM = Path(__file__).resolve().parent.parent / "terraform"
MODULE = Root(TERRAFORM / "modules" / "secrets")
# Each root, the prefix of its secrets' ids, the identity that reads them, and its resource names before the module.
CALLERS = {
    "vm": (Root(TERRAFORM), "${var.name}-", "${google_service_account.vm.email}", ("stack", "stack", "vm")),
    "gke": (Root(TERRAFORM / "gke"), "${var.name}-gke-", "${google_service_account.secrets.email}",
            ("cluster", "cluster", "secrets")),
}


def secrets_call(root: Root) -> dict:
    call = root.modules["secrets"]
    assert (root.directory / call["source"]).resolve() == MODULE.directory
    return call


@pytest.mark.parametrize("caller", CALLERS)
def test_each_root_stores_its_secrets_readable_by_its_own_identity_only(caller):
    root, _, identity, _ = CALLERS[caller]
    call = secrets_call(root)
    assert call["secrets"] == "${local.secrets}"
    assert call["reader"] == f"serviceAccount:{identity}"
    assert MODULE.resource("google_secret_manager_secret_version", "stored")["secret_data"] == "${var.secrets[each.key]}"
    reader = MODULE.resource("google_secret_manager_secret_iam_member", "reader")
    assert (reader["role"], reader["member"]) == ("roles/secretmanager.secretAccessor", "${var.reader}")
    assert MODULE.variables["secrets"]["sensitive"] is True


@pytest.mark.parametrize("caller", CALLERS)
def test_secret_ids_are_the_ones_each_root_named_before_the_module(caller):
    root, prefix, _, _ = CALLERS[caller]
    assert secrets_call(root)["id_prefix"] == prefix
    assert MODULE.resource("google_secret_manager_secret", "stored")["secret_id"] == "${var.id_prefix}${each.key}"


@pytest.mark.parametrize("caller", CALLERS)
def test_the_secrets_wait_for_the_apis_they_call(caller):
    root = CALLERS[caller][0]
    assert "${google_project_service.apis}" in secrets_call(root)["depends_on"]
    assert "secretmanager.googleapis.com" in root.resource("google_project_service", "apis")["for_each"]


@pytest.mark.parametrize("caller", CALLERS)
def test_state_from_before_the_module_moves_to_it_instead_of_being_replaced(caller):
    root, _, _, (secret, version, reader) = CALLERS[caller]
    moves = {(move["from"], move["to"]) for move in root.moved}
    module = "module.secrets.google_secret_manager_secret"
    assert {(f"${{google_secret_manager_secret.{secret}}}", f"${{{module}.stored}}"),
            (f"${{google_secret_manager_secret_version.{version}}}", f"${{{module}_version.stored}}"),
            (f"${{google_secret_manager_secret_iam_member.{reader}}}", f"${{{module}_iam_member.reader}}")} <= moves


def test_the_terraform_and_provider_versions_are_stated_once_for_both_roots():
    required = MODULE.settings
    assert required == [{"required_version": ">= 1.5",
                         "required_providers": [{"google": {"source": "hashicorp/google", "version": "~> 6.0"}}]}]
    for root, *_ in CALLERS.values():  # a root's own constraint could only repeat or contradict the module's
        assert root.settings == [], root.directory
