"""docs/protocol.md and README say which test proves each row of their tables: every test they name exists.

A row's test cell names tests as `file::name` or, after the first, `name` alone (the same file); a name may be
shortened with `...` (a prefix of the real name) and followed by a remark in parentheses; `same` repeats the row above. A cell in parentheses names no test
and must be one of the few rows listed here with the reason. README's settings tables may leave a cell empty only
for a setting no client meets (a port, a path, a log level): a row naming what a client gets must cite a test.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "docs" / "protocol.md"
README = ROOT / "README.md"
CITING = (PROTOCOL, README)
# What a client meets, named in a README settings row: a gRPC status, an HTTP status or a close code (the error
# codes of docs/protocol.md are added to it below).
CLIENT_MEETS = (r"\b(RESOURCE_EXHAUSTED|DEADLINE_EXCEEDED|INVALID_ARGUMENT|ABORTED|UNAUTHENTICATED|GOAWAY"
                r"|4\d\d|10\d\d)\b")
# Rows whose behaviour no test reaches yet, and why: each is a known gap, not a proof.
UNCITED = {
    "(no input is known to reach it; the fuzzers look for one)": "a gateway fault: no input is known to cause one",
}


def defined_tests() -> dict[str, set[str]]:
    """Every test function of tests/ (browser tests included), by file stem."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        found.setdefault(path.stem, set()).update(
            node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"))
    return found


def cited_cells(path: Path) -> list[tuple[str, str]]:
    """(row, test cell) of every table of the page that has a `test` column."""
    cells, column = [], None
    for line in path.read_text().splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cols = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if column is None:
            column = cols.index("test") if "test" in cols else -1
        elif column >= 0 and not set(line) <= set("|-: "):
            cells.append((cols[0], cols[column]))
    return cells


def resolve(reference: str, default_file: str | None, tests: dict[str, set[str]]) -> tuple[str | None, bool]:
    """(the file the reference is in, whether a test of that name exists)."""
    reference = re.sub(r"\s*\(.*\)$", "", reference)  # a remark after the name: "(room messages included)"
    file, _, name = reference.rpartition("::")
    name = name.rstrip(".").rstrip("_") if name.endswith("...") else name
    prefix = reference.endswith("...")
    candidates = [file] if file else ([default_file] if default_file else []) + sorted(tests)
    for candidate in candidates:
        names = tests.get(candidate, set())
        if any(existing.startswith(name) if prefix else existing == name for existing in names):
            return candidate, True
    return file or default_file, False


@pytest.mark.parametrize("page", CITING, ids=lambda page: page.name)
def test_the_tables_cite_only_tests_that_exist(page):
    tests = defined_tests()
    cells = cited_cells(page)
    assert len(cells) > 40, f"the cited tables of {page.name} were not found"
    missing, previous = [], None
    for row, cell in cells:
        if not cell:  # README only: a setting no client meets (a port, a path); see the test below
            continue
        if cell.startswith("("):
            assert cell in UNCITED, f"{row!r} cites no test: {cell}"
            continue
        if cell == "same":
            assert previous is not None, row
            continue
        default_file = None
        for reference in (part.strip() for part in cell.split(",")):
            default_file, exists = resolve(reference, default_file, tests)
            if not exists:
                missing.append((row, reference))
        previous = cell
    assert not missing, missing


def test_every_error_code_close_code_handshake_status_and_room_end_cites_a_test():
    """Every table of docs/protocol.md keyed by a code, a status or a reason has a test column, and no empty cell."""
    headers = [line for line in PROTOCOL.read_text().splitlines()
               if re.match(r"\|\s*(code|status|reason)\s*\|", line)]
    assert len(headers) == 5, headers  # errors, room errors, handshake statuses, close codes, room_ended reasons
    assert all(re.search(r"\|\s*test\s*\|", header) for header in headers), headers
    assert all(cell for _, cell in cited_cells(PROTOCOL))


def test_every_readme_setting_a_client_meets_cites_a_test():
    """The worker's and the gateway's settings tables cite a test in each row whose meaning names what a client
    gets (a refusal's status, a close code, an error code); rows of ports, paths and names may leave it empty."""
    headers = [line for line in README.read_text().splitlines() if line.startswith("| variable |")]
    assert sum(bool(re.search(r"\|\s*test\s*\|", header)) for header in headers) == 2, headers
    codes = {code for table in PROTOCOL.read_text().split("| code | fatal | cause |")[1:]
             for code in re.findall(r"^\| `([a-z_]+)`", table.split("\n\n", 1)[0], re.MULTILINE)}
    assert {"busy", "rate_limited", "too_many_rooms"} <= codes
    meets = re.compile(CLIENT_MEETS + "|" + "|".join(f"`{code}`" for code in sorted(codes)))
    rows = {line.split("|")[1].strip(): line for line in README.read_text().splitlines() if line.startswith("| `")}
    uncited = [row for row, cell in cited_cells(README) if not cell and meets.search(rows[row])]
    assert not uncited, uncited
