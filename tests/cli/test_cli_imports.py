"""The CLI starts light: building the app imports no heavy library; the commands load their own."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("scipy", "matplotlib", "pyarrow")

# Imports every module of `banditlb.cli` (subcommands and their helpers, registered or not) and
# builds the app, in a fresh interpreter, then prints which heavy libraries got loaded.
PROBE = f"""
import importlib, json, pkgutil, sys
import banditlb.cli
from banditlb.cli.main import build_app
modules = [info.name for info in pkgutil.iter_modules(banditlb.cli.__path__)]
for name in modules:
    importlib.import_module("banditlb.cli." + name)
build_app()
print(json.dumps({{
    "modules": modules,
    "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules),
}}))
"""


def probe(code: str) -> dict[str, list[str]]:
    """Run `code` in a fresh interpreter and return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    found: dict[str, list[str]] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_building_the_cli_imports_no_scipy_matplotlib_or_pyarrow() -> None:
    """Importing every cli module and building the app loads none of scipy, matplotlib, pyarrow
    (so `banditlb serve` does not pay for the simulator's plots and statistics)."""
    found = probe(PROBE)
    assert {"main", "serve_cmd", "sim_cmd", "oracle_cmd", "export_cmd"} <= set(found["modules"])
    assert found["heavy"] == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe reports a heavy library once something imports it (the guard can fail)."""
    found = probe(PROBE.replace("build_app()\n", "build_app()\nimport matplotlib\n"))
    assert found["heavy"] == ["matplotlib"]
