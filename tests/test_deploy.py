"""Deployment artifacts pass their offline checks and agree with what the code reads."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from gateway.metrics import GatewayMetrics
from inference.metrics import WorkerMetrics

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


@pytest.mark.parametrize("dockerfile", ["Dockerfile.gateway", "Dockerfile.inference"])
def test_dockerfiles_pass_hadolint(dockerfile):
    result = run(tool("hadolint"), dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.cpu.yml"]])
def test_compose_stacks_are_valid(files):
    arguments = [part for name in files for part in ("-f", name)]
    result = run(tool("docker-compose"), *arguments, "--env-file", ".env.example", "config", "-q", cwd=COMPOSE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.cpu.yml"]])
def test_the_merged_stacks_match_the_compose_schema(files, tmp_path):
    # The override uses compose's `!reset` tag, which only compose itself reads: validate what it resolves to.
    arguments = [part for name in files for part in ("-f", name)]
    merged = run(tool("docker-compose"), *arguments, "--env-file", ".env.example", "config", cwd=COMPOSE)
    assert merged.returncode == 0, merged.stderr
    (tmp_path / "merged.yml").write_text(merged.stdout)
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(tmp_path / "merged.yml"))
    assert result.returncode == 0, result.stdout


def test_terraform_is_formatted():
    result = run(tool("terraform"), "fmt", "-check", "-recursive", "terraform")
    assert result.returncode == 0, f"unformatted: {result.stdout}"


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


def test_only_caddy_publishes_ports():
    services = compose_config()["services"]
    assert [name for name, service in services.items() if service.get("ports")] == ["caddy"]


def test_service_settings_are_ones_the_code_reads():
    services = compose_config()["services"]
    gateway_names = settings_read_by("gateway/config.py")
    worker_names = settings_read_by("inference/config.py", "inference/engines/seamless/settings.py",
                                    "inference/engines/lite/settings.py")
    assert set(services["gateway"]["environment"]) <= gateway_names
    assert set(services["inference"]["environment"]) <= worker_names


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
    assert targets == {"gateway": ("gateway", int(gateway_env["S2ST_GATEWAY_METRICS_PORT"])),
                       "inference": ("inference", int(worker_env["S2ST_WORKER_METRICS_PORT"]))}


def exported_metric_names() -> set[str]:
    registry = CollectorRegistry()
    GatewayMetrics.create(registry)
    WorkerMetrics.create(registry)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    names = {family.name + suffix for family in registry.collect() for suffix in suffixes[family.type]}
    return names | {"process_resident_memory_bytes"}


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
    """It runs from a checkout against a worker's published port; the image holds no bench/."""
    source = (ROOT / "bench" / "gpu_check.py").read_text()
    assert "TranslatorStub" in source and "from inference" not in source and "import torch" not in source
