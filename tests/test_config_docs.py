"""Each settings class: the variables it reads (s2st.runtime.settings.env fields) and the removed ones it refuses are
the ones its module's table lists, and the README names them too."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from s2st.runtime.settings import removed_variables, variables

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("module", "cls", "in_readme"), [
    ("gateway.config", "GatewayConfig", True),
    ("inference.config", "WorkerConfig", True),
    ("inference.engines.lite.settings", "LiteSettings", False),  # in docs/lite-engine.md
    ("inference.engines.seamless.settings", "SeamlessSettings", False),  # in docs/seamless.md
])
def test_every_setting_read_is_in_the_modules_table_and_the_readme(module, cls, in_readme):
    source = importlib.import_module(module)
    read = variables(getattr(source, cls)) | set(removed_variables(getattr(source, cls)))
    table = set(re.findall(r"^\| (S2ST_[A-Z0-9_]+) \|", source.__doc__, re.M))
    assert read == table, (read - table, table - read)
    if in_readme:
        readme = set(re.findall(r"`(S2ST_[A-Z0-9_]+)`", (ROOT / "README.md").read_text()))
        assert read <= readme, read - readme


@pytest.mark.parametrize(("variable", "value"), [("S2ST_GRPC_PORT", "abc"), ("S2ST_MAX_SESSION_SECONDS", "1 hour")])
def test_a_value_that_does_not_parse_names_its_variable(variable, value):
    from inference.config import WorkerConfig

    with pytest.raises(ValueError, match=variable):
        WorkerConfig.from_environ({variable: value})


def test_each_engine_is_built_from_its_own_settings_in_the_environment():
    """The worker builds its engine by name from the environment: an engine reads its settings class's variables
    (a value that does not parse stops it, naming the variable), and echo, which has none, reads nothing."""
    from inference.engines import create_engine

    seamless = create_engine("seamless", {"S2ST_SEAMLESS_VOCODER": "tiny_vocoder", "S2ST_SEAMLESS_DTYPE": "fp32"})
    assert seamless.model_id.endswith("+ tiny_vocoder, fp32)")
    with pytest.raises(ValueError, match="S2ST_LITE_THREADS"):
        create_engine("lite", {"S2ST_LITE_THREADS": "two"})
    assert create_engine("echo", {"S2ST_LITE_THREADS": "two"}).model_id == "echo (no model)"
