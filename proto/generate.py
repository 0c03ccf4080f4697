"""Generate the Python gRPC stubs of proto/ in place (run by `make proto`).

The stubs are committed; tests/test_proto_stubs.py regenerates them into a
temporary directory and fails if they differ, so they are never hand-edited.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
PROTO_FILES = ("s2st/v1/translation.proto",)


def generate(out_dir: Path) -> None:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every proto file into out_dir."""
    well_known = resources.files("grpc_tools") / "_proto"
    for proto in PROTO_FILES:
        status = protoc.main([
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            str(PROTO_ROOT / proto),
        ])
        if status != 0:
            raise SystemExit(f"protoc failed on {proto} (exit {status})")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT)
