"""The gateway's parts, read from its import graph: each module belongs to one layer, imports run only to its own
layer or lower ones, and no two modules import each other, directly or round a longer cycle (lazy imports inside
functions count too). docs/where-facts-live.md, "The gateway's parts", describes the layers."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

GATEWAY = Path(__file__).resolve().parent.parent / "gateway"

# Highest first: a module may import from its own layer and those below it, never above.
LAYERS = (
    ("entry point", ("gateway.__main__",)),
    ("serving: processes, their supervisor, shared per-IP limits", ("gateway.serving",)),
    ("the Starlette app: routes, handshakes", ("gateway.app",)),
    ("the one-to-one relay: receive loop, worker session, send path", ("gateway.relay",)),
    ("rooms: room, its streams, registry, seat, routing, QR links", ("gateway.rooms",)),
    ("the worker's gRPC client", ("gateway.worker",)),
    ("socket plumbing: outbound queues, open sockets, per-client limits, metrics",
     ("gateway.outbound", "gateway.sockets", "gateway.limits", "gateway.metrics")),
    ("configuration", ("gateway.config",)),
    ("identity: grants, authenticator, JWT, JWKS", ("gateway.identity",)),
    ("the browser protocol", ("gateway.protocol",)),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(GATEWAY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def gateway_imports(path: Path, modules: set[str]) -> set[str]:
    """The gateway modules a file imports, anywhere in it (`from gateway.x import y` counts y when it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in GATEWAY.rglob("*.py")}
    modules = set(paths)
    # A package's __init__ is imported on the way to any of its modules: not an edge of its own.
    return {name: gateway_imports(path, modules) - {name} - {m for m in modules if name.startswith(m + ".")}
            - {"gateway"} for name, path in paths.items()}


def layer_of(module: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    raise LookupError(module)


def test_every_gateway_module_has_a_layer():
    unplaced = [module for module in import_graph() if module != "gateway" and not _placed(module)]
    assert not unplaced, f"add these modules to a layer in LAYERS (and the docs' table): {unplaced}"


def _placed(module: str) -> bool:
    try:
        layer_of(module)
    except LookupError:
        return False
    return True


def test_imports_never_run_up_a_layer():
    upward = [(module, imported) for module, imports in import_graph().items() if module != "gateway"
              for imported in imports if layer_of(imported) < layer_of(module)]
    assert not upward, "imports from a lower layer to a higher one: " + ", ".join(f"{a} -> {b}" for a, b in upward)


def test_no_modules_import_each_other_round_a_cycle():
    graph = import_graph()
    cycles = [cycle for module in sorted(graph) if (cycle := _cycle_from(module, graph))]
    assert not cycles, f"import cycles: {cycles}"


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A path of imports that leads from start back to it, or None."""
    stack = [(start, [start])]
    seen = set()
    while stack:
        module, path = stack.pop()
        for imported in sorted(graph.get(module, ())):
            if imported == start:
                return [*path, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*path, imported]))
    return None


@pytest.mark.parametrize("bad_import, expected", [
    ("from gateway.app import create_app", "up a layer"),
    ("from gateway.identity.authenticator import Authenticator", "cycle"),
])
def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path, monkeypatch, bad_import, expected):
    """The checks themselves: the identity layer's grant module made to import the app (up) or the
    authenticator (which imports it: a cycle) is caught."""
    copy = tmp_path / "gateway"
    for path in GATEWAY.rglob("*.py"):
        target = copy / path.relative_to(GATEWAY)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    grant = copy / "identity" / "grant.py"
    grant.write_text(grant.read_text() + f"\n{bad_import}\n")
    monkeypatch.setattr(sys.modules[__name__], "GATEWAY", copy)
    check = test_imports_never_run_up_a_layer if expected == "up a layer" else test_no_modules_import_each_other_round_a_cycle
    with pytest.raises(AssertionError):
        check()
