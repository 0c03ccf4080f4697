"""How the seamless engine is built and tested: its image, its two locks, and `make test-seamless` (offline checks)."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def locked(name: str) -> dict[str, str]:
    text = (ROOT / "locks" / f"{name}.txt").read_text()
    return dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)", text, re.M))


def test_the_image_lock_holds_no_test_only_package():
    """What only the tests need is in seamless-tests.txt, resolved against the image's pins."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    test_only = {re.match(r"[A-Za-z0-9_-]+", r).group(0).lower() for r in extras["seamless-tests"]} - {"s2st"}
    test_only |= {re.match(r"[A-Za-z0-9_-]+", r).group(0).lower() for r in extras["test-runner"]}
    test_only -= {"pytest"}  # simuleval itself requires pytest (and pytest-cov, pytest-flake8)
    image, tests = locked("seamless"), locked("seamless-tests")
    assert not test_only & set(image), test_only & set(image)
    assert test_only <= set(tests), test_only - set(tests)
    assert all(image[name] == version for name, version in tests.items() if name in image)
    assert re.search(r"^\.\[inference,seamless\]$", (ROOT / "locks" / "seamless.in").read_text(), re.M)


def test_the_gpu_image_builds_on_plain_ubuntu_with_the_cuda_of_the_torch_wheels():
    """nvidia/cuda tags are deleted at end of life, and the wheels bring CUDA 12.1 and cuDNN 8 themselves."""
    dockerfile = (ROOT / "Dockerfile.inference").read_text()
    base = re.search(r"^FROM (\S+) AS seamless-base$", dockerfile, re.M).group(1)
    assert base.startswith("ubuntu:22.04"), base
    image = locked("seamless")
    assert image["nvidia-cudnn-cu12"].startswith("8.") and image["nvidia-cuda-runtime-cu12"].startswith("12.1.")
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in dockerfile


def make_test_seamless(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    """The target with neither source of seamless_communication reachable (no vendored file, no repository)."""
    variables = [f"SEAMLESS_VENDOR={tmp_path / 'absent.tar.gz'}", f"SEAMLESS_REPO={tmp_path / 'no-repository'}",
                 f"SEAMLESS_VENV={tmp_path / 'venv'}", *(f"{key}={value}" for key, value in extra.items())]
    env = {key: value for key, value in os.environ.items() if key != "S2ST_ALLOW_SEAMLESS_SKIP"}
    return subprocess.run(["make", "--no-print-directory", "test-seamless", *variables], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_seamless_suite_fails_when_it_cannot_run(tmp_path):
    result = make_test_seamless(tmp_path)
    assert result.returncode != 0
    assert "test-seamless cannot run" in result.stderr and "S2ST_ALLOW_SEAMLESS_SKIP=1" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_the_seamless_suite_is_skipped_only_when_asked(tmp_path):
    result = make_test_seamless(tmp_path, S2ST_ALLOW_SEAMLESS_SKIP="1")
    assert result.returncode == 0, result.stderr
    assert "test-seamless SKIPPED (S2ST_ALLOW_SEAMLESS_SKIP=1)" in result.stdout


def test_ci_never_opts_out():
    assert "S2ST_ALLOW_SEAMLESS_SKIP" not in (ROOT / ".ci" / "run").read_text()
