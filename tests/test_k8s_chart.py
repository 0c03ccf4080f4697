"""The Helm chart in k8s/, rendered offline as terraform/gke's values and as values-cpu.yaml configure it:
every object is valid for the pinned Kubernetes version (custom resources for their CRDs), and the chart
agrees with what the code, the compose stack and terraform/gke say."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from gateway.config import GatewayConfig
from gateway.serving.server import UVICORN_SHUTDOWN_SECONDS
from inference.config import WorkerConfig
from inference.engines.lite.settings import LiteSettings
from inference.engines.seamless.settings import SeamlessSettings
from inference.server import DRAIN_FINAL_GRACE_SECONDS
from s2st.runtime.settings import variables
from harness.exported_metrics import gateway_gauges
from harness.terraform import Root

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "k8s"
GKE = ROOT / "terraform" / "gke"
CRD_SCHEMAS = Path(__file__).resolve().parent / "k8s_crd_schemas"
RELEASE = NAMESPACE = "s2st"
GKE_ROOT = Root(GKE)

# What terraform/gke would output for a project (the template's variables, filled in).
TERRAFORM_OUTPUTS = {
    "namespace": NAMESPACE, "domain": "translate.example.com",
    "image_prefix": "us-central1-docker.pkg.dev/my-project/s2st", "image_tag": "v1.0.0",
    "static_ip_name": "s2st-gke-ip", "static_ip": "203.0.113.7", "certificate_name": "s2st-gke-cert",
    "gpu_type": "nvidia-l4", "project_id": "my-project", "cluster_name": "s2st", "cluster_location": "us-central1",
    "secret_reader_email": "s2st-gke-secrets@my-project.iam.gserviceaccount.com", "secret_reader_ksa": "secret-manager",
    "grafana_secret_id": "s2st-gke-grafana-admin-password", "jwt_secret_id": "s2st-gke-jwt-secret",
    "peer_token_id": "s2st-gke-gateway-peer-token",
}


def kubernetes_version() -> str:
    """The oldest minor the cluster runs: terraform/gke's kubernetes_version, the schemas' version here."""
    return GKE_ROOT.default("kubernetes_version")


def terraform_values() -> dict[str, Any]:
    """terraform/gke's helm_values output for TERRAFORM_OUTPUTS (the template has plain ${name} slots only)."""
    template = (GKE / "helm-values.yaml.tftpl").read_text()
    filled = re.sub(r"\$\{(\w+)\}", lambda match: TERRAFORM_OUTPUTS[match.group(1)], template)
    assert "${" not in filled and "%{" not in filled
    return yaml.safe_load(filled)


def merged(base: dict, override: dict) -> dict:
    """Helm's merge of values files: maps merge key by key, anything else is replaced."""
    result = dict(base)
    for key, value in override.items():
        result[key] = merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) \
            else value
    return result


def render(*layers: dict) -> list[dict]:
    """Every object the chart renders with these values (over its values.yaml), as `helm template` would."""
    values: dict = {}
    for layer in layers:
        values = merged(values, layer)
    manifests = helm.Chart.load(str(CHART)).render(values, name=RELEASE, namespace=NAMESPACE)
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]


def cpu_values() -> dict:
    return merged(yaml.safe_load((CHART / "values-cpu.yaml").read_text()), {"images": {"tag": "v1.0.0"}})


@pytest.fixture(scope="module")
def gke() -> list[dict]:
    return render(terraform_values())


@pytest.fixture(scope="module")
def cpu() -> list[dict]:
    return render(cpu_values())


def one(objects: list[dict], kind: str, name: str) -> dict:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def pod_templates(objects: list[dict]) -> Iterator[tuple[str, dict]]:
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            yield o["metadata"]["name"], o["spec"]["template"]


WORKLOAD_KINDS = {"gateway": "StatefulSet"}  # the others are Deployments


def workload(objects: list[dict], name: str) -> dict:
    return one(objects, WORKLOAD_KINDS.get(name, "Deployment"), name)


def container(objects: list[dict], name: str) -> dict:
    return workload(objects, name)["spec"]["template"]["spec"]["containers"][0]


def env(container_spec: dict) -> dict[str, str]:
    return {item["name"]: item.get("value") for item in container_spec.get("env", [])}


def port(container_spec: dict, name: str) -> int:
    return next(p["containerPort"] for p in container_spec["ports"] if p["name"] == name)


def pod_labels(objects: list[dict], workload: str) -> dict[str, str]:
    return next(t for name, t in pod_templates(objects) if name == workload)["metadata"]["labels"]


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector's verdict on a set of labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if not {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
                "Exists": key in labels, "DoesNotExist": key not in labels}[operator]:
            return False
    return True


def crd_schema(manifest: dict) -> dict:
    """The JSON schema of a custom resource's CRD, vendored from datreeio/CRDs-catalog (see its README)."""
    group, version = manifest["apiVersion"].split("/")
    path = CRD_SCHEMAS / group / f"{manifest['kind'].lower()}_{version}.json"
    assert path.exists(), f"{manifest['kind']} ({manifest['apiVersion']}): neither Kubernetes nor a vendored CRD"
    return json.loads(path.read_text())


@pytest.mark.parametrize("variant", ["gke", "cpu"])
def test_every_object_is_valid_for_the_pinned_kubernetes_and_every_custom_resource_for_its_crd(variant, request):
    checked_by_crd = set()
    for manifest in request.getfixturevalue(variant):
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        try:
            kubernetes_validate.validate(manifest, kubernetes_version(), strict=True)  # strict: no unknown fields
        except kubernetes_validate.SchemaNotFoundError:
            errors = list(jsonschema.Draft7Validator(crd_schema(manifest)).iter_errors(manifest))
            assert not errors, f"{where}: {[(list(e.path), e.message) for e in errors]}"
            checked_by_crd.add(manifest["kind"])
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{where}: {list(error.path)}: {error.message}")
    if variant == "gke":
        assert checked_by_crd == {"BackendConfig", "FrontendConfig", "SecretStore", "ExternalSecret"}


def test_the_chart_asks_for_the_kubernetes_version_terraform_creates_and_lints_clean():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == f">={kubernetes_version()}.0-0"
    report = helm.lint(str(CHART), values=terraform_values(), strict=True, kube_version=f"v{kubernetes_version()}.0")
    warnings_or_errors = [m for m in report["messages"] if m["severity"] >= 2]  # 1 is information
    assert not report["errors"] and not warnings_or_errors, report


def test_terraform_fills_every_slot_of_the_values_it_prints():
    template_slots = set(re.findall(r"\$\{(\w+)\}", (GKE / "helm-values.yaml.tftpl").read_text()))
    expression = GKE_ROOT.outputs["helm_values"]["value"]  # ${templatefile("...", {name = value, ...})}, parsed
    arguments = re.fullmatch(r'\$\{templatefile\("\$\{path.module\}/helm-values.yaml.tftpl", \{(.*)\}\)\}', expression)
    given = set(re.findall(r"(?:^|, )(\w+) = ", arguments.group(1)))
    assert template_slots == given == set(TERRAFORM_OUTPUTS), (template_slots ^ given)


@pytest.mark.parametrize("tag", ["", "latest"])
def test_a_deploy_names_a_release_never_latest(tag):
    with pytest.raises(helm.HelmError, match="images.tag"):
        render(terraform_values(), {"images": {"tag": tag}})


def test_workers_get_one_gpu_on_the_gpu_pool_and_are_probed_over_grpc_health(gke, cpu):
    worker = container(gke, "inference")
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 1
    pod = workload(gke, "inference")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": TERRAFORM_OUTPUTS["gpu_type"]}
    grpc_port = port(worker, "grpc")
    assert int(env(worker)["S2ST_GRPC_PORT"]) == grpc_port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert worker[probe]["grpc"]["port"] == grpc_port, probe  # grpc.health.v1, answered by the worker itself
    assert worker["startupProbe"]["periodSeconds"] * worker["startupProbe"]["failureThreshold"] >= 300  # model load
    lite = container(cpu, "inference")
    assert "nvidia.com/gpu" not in json.dumps(lite["resources"]) and env(lite)["S2ST_ENGINE"] == "lite"
    assert "nodeSelector" not in workload(cpu, "inference")["spec"]["template"]["spec"]


def test_each_pod_is_given_the_time_its_drain_takes(gke):
    gateway_pod = workload(gke, "gateway")["spec"]["template"]["spec"]
    gateway = gateway_pod["containers"][0]
    pre_stop = gateway["lifecycle"]["preStop"]["sleep"]["seconds"]
    gateway_drain = float(env(gateway)["S2ST_SHUTDOWN_GRACE_SECONDS"])
    assert gateway_pod["terminationGracePeriodSeconds"] >= pre_stop + gateway_drain + UVICORN_SHUTDOWN_SECONDS
    worker_pod = workload(gke, "inference")["spec"]["template"]["spec"]
    worker_drain = float(env(worker_pod["containers"][0])["S2ST_SHUTDOWN_GRACE_SECONDS"])
    assert worker_pod["terminationGracePeriodSeconds"] >= worker_drain + DRAIN_FINAL_GRACE_SECONDS + 5
    backend = one(gke, "BackendConfig", "gateway")["spec"]
    assert backend["connectionDraining"]["drainingTimeoutSec"] >= pre_stop + gateway_drain
    # The load balancer's timeout is a WebSocket's whole life: at least a session's.
    max_session = float(env(worker_pod["containers"][0]).get("S2ST_MAX_SESSION_SECONDS")
                        or WorkerConfig().max_session_seconds)
    assert backend["timeoutSec"] >= max_session


@pytest.mark.parametrize("variant", ["gke", "cpu"])
def test_only_gateways_reach_the_workers_grpc_port(variant, request):
    objects = request.getfixturevalue(variant)
    policies = [o["spec"] for o in objects if o["kind"] == "NetworkPolicy"]
    for name, template in pod_templates(objects):  # every pod takes only what a policy lets in
        assert any("Ingress" in p["policyTypes"] and selects(p["podSelector"], template["metadata"]["labels"])
                   for p in policies), name
    worker, grpc_port = pod_labels(objects, "inference"), port(container(objects, "inference"), "grpc")
    rules = [rule for p in policies if selects(p["podSelector"], worker) and "Ingress" in p["policyTypes"]
             for rule in p.get("ingress", [])]
    to_grpc = [rule for rule in rules
               if not rule.get("ports") or any(p["port"] in ("grpc", grpc_port) for p in rule["ports"])]
    others = [labels for name, t in pod_templates(objects) if name != "gateway" for labels in [t["metadata"]["labels"]]]
    assert to_grpc
    for rule in to_grpc:
        assert rule.get("from"), "a rule open to every source"
        for peer in rule["from"]:
            assert set(peer) == {"podSelector"}, peer  # no ipBlock, no other namespace
            assert selects(peer["podSelector"], pod_labels(objects, "gateway"))
            assert not any(selects(peer["podSelector"], labels) for labels in others), peer


def test_pods_run_unprivileged_on_a_read_only_root_without_capabilities(gke):
    for name, template in pod_templates(gke):
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for c in pod["containers"] + pod.get("initContainers", []):
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False and not security.get("privileged"), name
            assert security["capabilities"] == {"drop": ["ALL"]}, name


def test_the_services_are_given_settings_their_code_reads(gke):
    helpers = {"POD_IP", "HOME", "XDG_CACHE_HOME"}  # not settings: an expansion source and cache locations
    gateway, worker = env(container(gke, "gateway")), env(container(gke, "inference"))
    assert set(gateway) - helpers <= variables(GatewayConfig), set(gateway) - helpers - variables(GatewayConfig)
    worker_settings = variables(WorkerConfig) | variables(SeamlessSettings) | variables(LiteSettings)
    assert set(worker) - helpers <= worker_settings, set(worker) - helpers - worker_settings
    secret_keys = {item["secretKey"] for item in one(gke, "ExternalSecret", "gateway-secrets")["spec"]["data"]}
    assert secret_keys <= variables(GatewayConfig)
    assert {"secretRef": {"name": "gateway-secrets", "optional": True}} in container(gke, "gateway")["envFrom"]


def test_gateways_balance_over_every_worker_behind_the_headless_service(gke):
    target = env(container(gke, "gateway"))["S2ST_WORKER_TARGET"]
    match = re.fullmatch(r"dns:///([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)", target)
    assert match, target
    service = one(gke, "Service", match.group(1))["spec"]
    assert match.group(2) == NAMESPACE and service["clusterIP"] == "None"  # DNS lists the pods, not one VIP
    assert selects({"matchLabels": service["selector"]}, pod_labels(gke, "inference"))
    worker = container(gke, "inference")
    assert int(match.group(3)) == service["ports"][0]["port"] == port(worker, "grpc")
    assert float(env(worker)["S2ST_GRPC_MAX_CONNECTION_AGE_SECONDS"]) > 0  # gateways find workers added later


def test_gateways_scale_on_cpu_and_on_the_live_sessions_they_export_through_the_adapter(gke):
    hpa = one(gke, "HorizontalPodAutoscaler", "gateway")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "gateway"}
    metrics = {m["type"]: m for m in hpa["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    sessions = metrics["Pods"]["pods"]["metric"]["name"]
    assert sessions in gateway_gauges(), sessions
    adapter_rules = yaml.safe_load(one(gke, "ConfigMap", "prometheus-adapter")["data"]["config.yaml"])["rules"]
    rule = next(r for r in adapter_rules if r["seriesQuery"].startswith(sessions + "{"))
    assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    assert re.fullmatch(rule["name"]["matches"], sessions)
    scrape = yaml.safe_load(one(gke, "ConfigMap", "prometheus")["data"]["prometheus.yml"])["scrape_configs"][0]
    assert {"namespace", "pod"} <= {r.get("target_label") for r in scrape["relabel_configs"]}
    api = one(gke, "APIService", "v1beta1.custom.metrics.k8s.io")["spec"]["service"]
    adapter = one(gke, "Service", api["name"])["spec"]
    assert selects({"matchLabels": adapter["selector"]}, pod_labels(gke, "prometheus-adapter"))
    assert f"--prometheus-url=http://prometheus.{NAMESPACE}.svc:9090/" in container(gke, "prometheus-adapter")["args"]


def test_prometheus_scrapes_both_services_by_annotation_as_the_jobs_the_alerts_name(gke):
    scrape = yaml.safe_load(one(gke, "ConfigMap", "prometheus")["data"]["prometheus.yml"])["scrape_configs"][0]
    relabel = {tuple(r["source_labels"]): r for r in scrape["relabel_configs"]}
    assert relabel[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)] == \
        {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "regex": "true", "action": "keep"}
    assert relabel[("__meta_kubernetes_pod_label_app_kubernetes_io_component",)]["target_label"] == "job"
    compose_jobs = {job["job_name"] for job in yaml.safe_load(
        (ROOT / "compose" / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]}
    for workload, setting in (("gateway", "S2ST_GATEWAY_METRICS_PORT"), ("inference", "S2ST_WORKER_METRICS_PORT")):
        template = next(t for name, t in pod_templates(gke) if name == workload)
        annotations, c = template["metadata"]["annotations"], template["spec"]["containers"][0]
        assert annotations["prometheus.io/scrape"] == "true"
        assert int(annotations["prometheus.io/port"]) == port(c, "metrics") == int(env(c)[setting])
        assert template["metadata"]["labels"]["app.kubernetes.io/component"] in compose_jobs  # up{job="inference"}


def test_grafana_and_the_alerts_are_the_compose_stacks_files(gke):
    compose = ROOT / "compose"
    dashboard = one(gke, "ConfigMap", "grafana-dashboards")["data"]["s2st.json"]
    assert json.loads(dashboard) == json.loads((compose / "grafana" / "dashboards" / "s2st.json").read_text())
    provisioning = one(gke, "ConfigMap", "grafana-provisioning")["data"]
    assert yaml.safe_load(provisioning["datasource.yml"]) == yaml.safe_load(
        (compose / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert yaml.safe_load(provisioning["dashboards.yml"]) == yaml.safe_load(
        (compose / "grafana" / "provisioning" / "dashboards" / "dashboards.yml").read_text())
    alerts = one(gke, "ConfigMap", "prometheus")["data"]["alerts.yml"]
    assert yaml.safe_load(alerts) == yaml.safe_load((compose / "prometheus" / "alerts.yml").read_text())
    # The datasource's http://prometheus:9090 is this namespace's Prometheus Service.
    assert yaml.safe_load(provisioning["datasource.yml"])["datasources"][0]["url"] == \
        f"http://prometheus:{one(gke, 'Service', 'prometheus')['spec']['ports'][0]['port']}"


def caddy_headers() -> list[str]:
    """The response headers Caddy sets in the single-VM stack, as `Name: value` lines."""
    block = re.search(r"header \{\n(.*?)\n\t\}", (ROOT / "compose" / "caddy" / "Caddyfile").read_text(), re.S).group(1)
    lines = [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [f"{name}: {value.strip(chr(34))}".replace("{$DOMAIN}", TERRAFORM_OUTPUTS["domain"])
            for name, value in (line.split(" ", 1) for line in lines)]


def test_the_load_balancer_keeps_websockets_open_spreads_them_and_sends_the_compose_headers(gke):
    service = one(gke, "Service", "gateway")
    annotations = service["metadata"]["annotations"]
    assert json.loads(annotations["cloud.google.com/neg"]) == {"ingress": True}  # straight to pods
    backend = one(gke, "BackendConfig", json.loads(annotations["cloud.google.com/backend-config"])["default"])["spec"]
    assert service["spec"]["sessionAffinity"] == "None" and backend["sessionAffinity"] == {"affinityType": "NONE"}
    http = port(container(gke, "gateway"), "http")
    assert backend["healthCheck"]["requestPath"] == "/healthz" and backend["healthCheck"]["port"] == http
    assert backend["customResponseHeaders"]["headers"] == caddy_headers()
    ingress = one(gke, "Ingress", "web")
    assert ingress["spec"]["defaultBackend"]["service"] == {"name": "gateway", "port": {"name": "http"}}
    assert ingress["metadata"]["annotations"]["kubernetes.io/ingress.global-static-ip-name"] == \
        TERRAFORM_OUTPUTS["static_ip_name"]
    assert ingress["metadata"]["annotations"]["ingress.gcp.kubernetes.io/pre-shared-cert"] == \
        TERRAFORM_OUTPUTS["certificate_name"]


async def test_the_gateway_takes_the_client_ip_google_saw_not_one_a_client_wrote(gke):
    """Per-IP limits need the real client: Google's front end appends it and the load balancer's own address
    to X-Forwarded-For, after whatever the client sent. uvicorn does the reading (S2ST_TRUSTED_PROXIES)."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    gateway = env(container(gke, "gateway"))
    seen = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"][0]

    middleware = ProxyHeadersMiddleware(app, trusted_hosts=gateway["S2ST_TRUSTED_PROXIES"])
    forwarded = f"6.6.6.6, 198.51.100.23, {TERRAFORM_OUTPUTS['static_ip']}".encode()  # spoofed, client, balancer
    await middleware({"type": "http", "client": ("35.191.12.34", 40000), "headers": [(b"x-forwarded-for", forwarded)]},
                     None, None)
    assert seen["client"] == "198.51.100.23"
    web = one(gke, "NetworkPolicy", "gateway-web")["spec"]["ingress"]
    front_ends = yaml.safe_load((CHART / "values.yaml").read_text())["ingress"]["frontendRanges"]
    assert [peer["ipBlock"]["cidr"] for rule in web for peer in rule["from"]] == front_ends  # nothing else reaches it


def test_disruptions_take_one_gateway_and_one_worker_at_a_time(gke):
    for workload in ("gateway", "inference"):
        budget = one(gke, "PodDisruptionBudget", workload)["spec"]
        assert budget["maxUnavailable"] == 1 and selects(budget["selector"], pod_labels(gke, workload))


def test_secrets_are_read_by_the_identity_terraform_lets_read_them(gke):
    account = one(gke, "ServiceAccount", TERRAFORM_OUTPUTS["secret_reader_ksa"])
    assert account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == \
        TERRAFORM_OUTPUTS["secret_reader_email"]
    store = one(gke, "SecretStore", "secret-manager")["spec"]["provider"]["gcpsm"]
    assert store["auth"]["workloadIdentity"]["serviceAccountRef"]["name"] == account["metadata"]["name"]
    assert GKE_ROOT.locals["secret_reader_ksa"] == account["metadata"]["name"]
    binding = GKE_ROOT.resource("google_service_account_iam_member", "secrets")["member"]
    assert binding.endswith("svc.id.goog[${var.namespace}/${local.secret_reader_ksa}]")
    grafana = container(gke, "grafana")["env"]
    assert {"name": "GF_SECURITY_ADMIN_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "grafana-admin", "key": "password"}}} in grafana
    assert one(gke, "ExternalSecret", "grafana-admin")["spec"]["target"]["name"] == "grafana-admin"


def test_the_control_plane_may_call_the_metrics_adapter_through_the_firewall(gke):
    adapter_port = port(container(gke, "prometheus-adapter"), "https")
    assert GKE_ROOT.locals["adapter_port"] == adapter_port
    rule = GKE_ROOT.resource("google_compute_firewall", "adapter")
    assert rule["allow"][0]["ports"] == ["${tostring(local.adapter_port)}"] and rule["source_ranges"] == ["${var.master_cidr}"]


@pytest.mark.parametrize("variant", ["gke", "cpu"])
def test_gateways_know_each_other_by_name_for_rooms_and_only_gateways_reach_the_peer_port(variant, request):
    """A room lives on one gateway pod: its id starts with the pod's name, and a gateway relays room
    sockets to the pod named, through the StatefulSet's headless Service (gateway/rooms/routing.py)."""
    objects = request.getfixturevalue(variant)
    gateways = workload(objects, "gateway")
    gateway = container(objects, "gateway")
    variables_of = {item["name"]: item for item in gateway["env"]}
    assert variables_of["S2ST_GATEWAY_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    peers = one(objects, "Service", gateways["spec"]["serviceName"])["spec"]
    assert peers["clusterIP"] == "None" and selects({"matchLabels": peers["selector"]}, pod_labels(objects, "gateway"))
    peer_port = port(gateway, "peer")
    assert [p["port"] for p in peers["ports"]] == [peer_port]
    address = env(gateway)["S2ST_GATEWAY_PEER_ADDRESS"]
    assert address == f"{{name}}.{gateways['spec']['serviceName']}.{NAMESPACE}.svc.cluster.local:{peer_port}"
    from_secrets = {name: "p" * 32 for name, item in variables_of.items()  # what the Secrets fill in
                    if "secretKeyRef" in item.get("valueFrom", {})}
    config = GatewayConfig.from_environ({**{k: v for k, v in env(gateway).items() if v is not None},
                                         "S2ST_GATEWAY_NAME": "gateway-3",  # what the pod's name fills in
                                         **from_secrets})
    assert (config.peer_port, config.process_count) == (peer_port, 1)
    policies = [o["spec"] for o in objects if o["kind"] == "NetworkPolicy"
                if selects(o["spec"]["podSelector"], pod_labels(objects, "gateway"))]
    to_peer = [rule for p in policies for rule in p.get("ingress", [])
               if not rule.get("ports") or any(p["port"] in ("peer", peer_port) for p in rule["ports"])]
    assert to_peer
    for rule in to_peer:
        assert rule.get("from") and all(set(source) == {"podSelector"} for source in rule["from"]), rule
        assert all(selects(source["podSelector"], pod_labels(objects, "gateway")) for source in rule["from"])
        assert not any(selects(source["podSelector"], pod_labels(objects, "inference")) for source in rule["from"])


def test_the_peer_token_a_named_gateway_needs_comes_from_secret_manager(gke):
    """A gateway with S2ST_GATEWAY_NAME does not start without S2ST_GATEWAY_PEER_TOKEN: the chart takes it
    from the Secret that External Secrets copies from the Secret Manager secret terraform/gke creates."""
    gateway = {item["name"]: item for item in container(gke, "gateway")["env"]}
    reference = gateway["S2ST_GATEWAY_PEER_TOKEN"]["valueFrom"]["secretKeyRef"]
    copied = one(gke, "ExternalSecret", reference["name"])["spec"]
    assert copied["target"]["name"] == reference["name"]
    assert copied["data"] == [{"secretKey": reference["key"], "remoteRef": {"key": TERRAFORM_OUTPUTS["peer_token_id"]}}]
    with pytest.raises(helm.HelmError, match="secretManager.gatewayPeerToken"):
        render(terraform_values(), {"secretManager": {"gatewayPeerToken": ""}})


def test_releases_and_scale_ins_drain_for_minutes_not_seconds(gke):
    """A session may last an hour; a drain of seconds cut nearly every live one at each release or scale-in."""
    for name in ("gateway", "inference"):
        assert float(env(container(gke, name))["S2ST_SHUTDOWN_GRACE_SECONDS"]) >= 120, name
    backend = one(gke, "BackendConfig", "gateway")["spec"]
    assert 120 <= backend["connectionDraining"]["drainingTimeoutSec"] <= 3600  # Google's limit
    # A StatefulSet rolls one pod at a time with no surge: the operator's guide must not promise one.
    assert workload(gke, "gateway")["kind"] == "StatefulSet"
    guide = " ".join((ROOT / "docs" / "scale.md").read_text().split())
    assert "gateways roll with a surge" not in guide and "roll one pod at a time with no surge" in guide


def test_images_may_be_pinned_by_digest_and_a_malformed_digest_is_refused():
    digest = "sha256:" + "ab" * 32
    pinned = render(terraform_values(), {"images": {"digests": {"gateway": digest, "inference": digest}}})
    for workload in ("gateway", "inference"):
        image = container(pinned, workload)["image"]
        assert image.endswith(f":{TERRAFORM_OUTPUTS['image_tag']}@{digest}"), image
    assert "@" not in container(render(terraform_values()), "gateway")["image"]  # a tag alone, as before
    with pytest.raises(helm.HelmError, match="images.digests.gateway"):
        render(terraform_values(), {"images": {"digests": {"gateway": "sha256:short"}}})


@pytest.mark.parametrize("variant", ["gke", "cpu"])
def test_every_container_is_restarted_when_it_stops_answering(variant, request):
    for name, template in pod_templates(request.getfixturevalue(variant)):
        for c in template["spec"]["containers"]:
            assert c.get("livenessProbe") and c.get("readinessProbe"), f"{name}/{c['name']}"


def test_alerts_reach_an_alertmanager_with_the_compose_receiver_when_enabled(gke):
    assert not [o for o in gke if o["metadata"]["name"] == "alertmanager"]  # off by default
    objects = render(terraform_values(), {"monitoring": {"alertmanager": {"enabled": True}}})
    for manifest in objects:
        if manifest["metadata"]["name"] == "alertmanager":
            kubernetes_validate.validate(manifest, kubernetes_version(), strict=True)
    config = yaml.safe_load(one(objects, "ConfigMap", "alertmanager")["data"]["alertmanager.yml"])
    assert config == yaml.safe_load((ROOT / "compose" / "alertmanager" / "alertmanager.yml").read_text())
    url_file = config["receivers"][0]["webhook_configs"][0]["url_file"]
    manager = container(objects, "alertmanager")
    mount = next(m for m in manager["volumeMounts"] if m["mountPath"] == url_file)
    volumes = {v["name"]: v for v in workload(objects, "alertmanager")["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mount["name"]]["secret"]["secretName"] == "alertmanager-webhook" and mount["subPath"] == "url"
    prometheus = yaml.safe_load(one(objects, "ConfigMap", "prometheus")["data"]["prometheus.yml"])
    service = one(objects, "Service", "alertmanager")["spec"]
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == \
        [f"alertmanager.{NAMESPACE}.svc:{service['ports'][0]['port']}"]
    policy = one(objects, "NetworkPolicy", "alertmanager")["spec"]
    assert selects(policy["podSelector"], pod_labels(objects, "alertmanager"))
    assert [selects(peer["podSelector"], pod_labels(objects, "prometheus")) for peer in policy["ingress"][0]["from"]] == \
        [True]
