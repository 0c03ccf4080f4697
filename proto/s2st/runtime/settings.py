"""Settings from environment variables, one way for every service and engine.

A settings class is a frozen dataclass (deriving from ``FromEnviron``) whose
fields name their variable with ``env("S2ST_...", default)``; ``from_environ`` reads
the variables that are set, parsed by the field's type (str, int, float, bool,
Path, or tuple[str, ...] from a comma list), and leaves the rest at their
defaults. A field whose type is itself such a dataclass is read the same way.
A value that does not parse is a ValueError naming the variable. A variable that is
gone is declared in the class's ``removed_variables`` (name: what replaced it): set,
it is a ValueError, so a service configured the old way stops instead of ignoring it.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


def env(name: str, default: Any) -> Any:
    """A dataclass field read from the environment variable `name`, `default` when unset."""
    return dataclasses.field(default=default, metadata={"env": name})


def from_environ(cls: type[T], environ: Mapping[str, str]) -> T:
    """An instance of the settings dataclass cls with every variable that is set in environ."""
    for name, replacement in removed_variables(cls).items():
        if name in environ:
            raise ValueError(f"{name} is gone: {replacement}")
    types = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        kind = types[field.name]
        if dataclasses.is_dataclass(kind):
            values[field.name] = from_environ(kind, environ)
        elif (name := field.metadata.get("env")) is not None and name in environ:
            values[field.name] = _parse(kind, environ[name], name)
    return cls(**values)


class FromEnviron:
    """Gives a settings dataclass its `from_environ(environ)` constructor."""

    # Variables this class no longer reads, each with what replaced it: from_environ refuses them.
    removed_variables: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def from_environ(cls: type[T], environ: Mapping[str, str]) -> T:
        """The settings with every variable that is set in environ; the rest keep their defaults."""
        return from_environ(cls, environ)


def variables(cls: type) -> set[str]:
    """Every environment variable a settings dataclass (and the ones inside it) reads."""
    types = typing.get_type_hints(cls)
    names: set[str] = set()
    for field in dataclasses.fields(cls):
        if dataclasses.is_dataclass(types[field.name]):
            names |= variables(types[field.name])
        elif "env" in field.metadata:
            names.add(field.metadata["env"])
    return names


def removed_variables(cls: type) -> Mapping[str, str]:
    """The variables a settings dataclass refuses (its ``removed_variables``), each with what replaced it."""
    return getattr(cls, "removed_variables", {})


def _parse(kind: Any, text: str, name: str) -> Any:
    try:
        if kind is bool:
            if text.strip().lower() not in TRUE_WORDS + FALSE_WORDS:
                raise ValueError
            return text.strip().lower() in TRUE_WORDS
        if kind in (int, float):
            return kind(text)
        if kind is Path:
            return Path(os.path.expanduser(text))
        if kind == tuple[str, ...]:
            return tuple(item.strip() for item in text.split(",") if item.strip())
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a valid {getattr(kind, '__name__', kind)}") from None
    return text
