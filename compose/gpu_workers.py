"""Write the compose override that gives every GPU its own inference worker(s).

    python3 compose/gpu_workers.py --gpus "$(nvidia-smi -L | wc -l)" --per-gpu 1 > compose/docker-compose.gpus.yml
    docker compose -f compose/docker-compose.yml -f compose/docker-compose.gpus.yml --env-file compose/.env up -d

`deploy.replicas` would give every replica the same devices (all of them, or GPU 0), so each
worker is a service of its own pinned to one GPU by device id, all answering to the DNS name
`inference` that the gateway balances over. With --per-gpu N > 1, N workers share each GPU
(a large GPU holds several copies of the model) through CUDA MPS: the host runs
`nvidia-cuda-mps-control -d` with CUDA_MPS_PIPE_DIRECTORY=/tmp/nvidia-mps (the VM's startup
script does), and the workers join it through that pipe directory and the host's IPC namespace.
Standard library only: it runs on the VM's own Python.
"""

from __future__ import annotations

import argparse
import sys

MPS_PIPE_DIRECTORY = "/tmp/nvidia-mps"
MAX_WORKERS_PER_GPU = 8


def worker_service(gpu: int, shared: bool, template: bool) -> list[str]:
    """The YAML lines of one worker's service body, indented under its name."""
    lines = []
    if not template:
        lines += ["    extends: {file: docker-compose.yml, service: inference}",
                  "    networks: {default: {aliases: [inference]}}"]
    lines += [
        "    deploy:",
        "      resources:",
        "        reservations:",
        "          devices: !override",
        f'            - {{driver: nvidia, device_ids: ["{gpu}"], capabilities: [gpu]}}',
    ]
    if shared:
        lines += [
            "    ipc: host",
            "    environment:",
            f"      CUDA_MPS_PIPE_DIRECTORY: {MPS_PIPE_DIRECTORY}",
            "    volumes:",
            f"      - {MPS_PIPE_DIRECTORY}:{MPS_PIPE_DIRECTORY}",
        ]
    return lines


def override(gpus: int, per_gpu: int) -> str:
    """The override file for gpus GPUs with per_gpu workers each (the base file's `inference` is worker 0)."""
    if gpus < 1:
        raise ValueError("no GPU found: is the NVIDIA driver loaded? (nvidia-smi -L)")
    if not 1 <= per_gpu <= MAX_WORKERS_PER_GPU:
        raise ValueError(f"workers per GPU must be 1 to {MAX_WORKERS_PER_GPU}")
    shared = per_gpu > 1
    lines = [f"# Written by compose/gpu_workers.py: {gpus} GPU(s) x {per_gpu} worker(s). Do not edit.", "services:"]
    for worker in range(gpus * per_gpu):
        lines.append("  inference:" if worker == 0 else f"  inference-{worker}:")
        lines += worker_service(worker // per_gpu, shared, template=worker == 0)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, required=True, help="GPUs on this machine (nvidia-smi -L | wc -l)")
    parser.add_argument("--per-gpu", type=int, default=1, help="workers sharing each GPU through CUDA MPS")
    args = parser.parse_args()
    try:
        sys.stdout.write(override(args.gpus, args.per_gpu))
    except ValueError as error:
        raise SystemExit(f"gpu_workers: {error}") from None


if __name__ == "__main__":
    main()
