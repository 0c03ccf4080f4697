"""docs/protocol.md says which test proves each row of its tables: every test it names exists.

A row's test cell names tests as `file::name` or, after the first, `name` alone (the same file); a name may be
shortened with `...` (a prefix of the real name) and followed by a remark in parentheses; `same` repeats the row above. A cell in parentheses names no test
and must be one of the few rows listed here with the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "docs" / "protocol.md"
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


def cited_cells() -> list[tuple[str, str]]:
    """(row, test cell) of every table in docs/protocol.md that has a `test` column."""
    cells, column = [], None
    for line in PROTOCOL.read_text().splitlines():
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


def test_the_protocol_tables_cite_only_tests_that_exist():
    tests = defined_tests()
    cells = cited_cells()
    assert len(cells) > 20, "the bad-input table was not found"
    missing, previous = [], None
    for row, cell in cells:
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


def test_every_close_code_and_handshake_status_cites_a_test():
    """The close-code and handshake tables have a test column too."""
    text = PROTOCOL.read_text()
    for heading in ("## Close codes", "## Opening the socket"):
        table = text.split(heading, 1)[1].split("\n## ", 1)[0]
        header = next(line for line in table.splitlines() if line.startswith("|"))
        assert re.search(r"\|\s*test\s*\|", header), heading
