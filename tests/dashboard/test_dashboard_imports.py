"""The dashboard and the store never import the balancer, so the balancer can mount them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "banditlb"
FILES = sorted([*(PACKAGE / "dashboard").glob("*.py"), *(PACKAGE / "store").glob("*.py")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_balancer_fleet_or_cli_imports(path: Path) -> None:
    """Only leaves, the store and third-party libraries are imported (no cycles via the app)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    bad = {
        name
        for name in names
        if name.startswith(
            ("banditlb.balancer", "banditlb.fleet", "banditlb.cli", "banditlb.harness")
        )
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"
