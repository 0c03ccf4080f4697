"""Engine registry: the worker picks one engine by name (``S2ST_ENGINE``)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from inference.engines.base import Engine

# Imported lazily so that a worker only needs the packages of its own engine.
ENGINES: dict[str, str] = {
    "echo": "inference.engines.echo:EchoEngine",
    "lite": "inference.engines.lite:LiteEngine",
    "seamless": "inference.engines.seamless:SeamlessEngine",
}


def create_engine(name: str, environ: Mapping[str, str]) -> Engine:
    """Build (not load) the engine called ``name`` from its environment settings."""
    try:
        module_name, class_name = ENGINES[name].split(":")
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}") from None
    engine_class: type[Engine] = getattr(importlib.import_module(module_name), class_name)
    return engine_class.from_environ(environ)
