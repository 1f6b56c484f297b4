"""Dependencies point one way: nothing below web/ imports fastmcp or starlette."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "claude_memory"
FORBIDDEN = ("fastmcp", "starlette", "uvicorn", "mcp")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_below_web_imports_the_web_stack():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "web" or rel.name == "cli.py":
            continue
        bad = _imports(path) & set(FORBIDDEN)
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert offenders == []


def test_the_check_sees_a_violation(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("from starlette.applications import Starlette\nimport fastmcp.client\n")
    assert _imports(sample) & set(FORBIDDEN) == {"starlette", "fastmcp"}
