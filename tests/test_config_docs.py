"""Each service's settings: one table in its config module, the same names in the README, all read by the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("module", ["gateway/config.py", "inference/config.py"])
def test_every_setting_read_is_in_the_modules_table_and_the_readme(module):
    source = (ROOT / module).read_text()
    docstring, code = source.split('"""')[1], source.split('"""', 2)[2]
    read = set(re.findall(r'"(S2ST_[A-Z0-9_]+)"', code))
    table = set(re.findall(r"^\| (S2ST_[A-Z0-9_]+) \|", docstring, re.M))
    readme = set(re.findall(r"`(S2ST_[A-Z0-9_]+)`", (ROOT / "README.md").read_text()))
    assert read == table, (read - table, table - read)
    assert read <= readme, read - readme
