"""The pure core never imports I/O, asyncio, HTTP, the wall clock or the global RNG."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "banditlb"
PURE = ["models", "strategies", "router.py", "referee.py", "oracle.py", "outcome.py", "ids.py"]
FORBIDDEN_MODULES = {
    "asyncio",
    "aiohttp",
    "httpx",
    "starlette",
    "uvicorn",
    "h11",
    "socket",
    "sqlite3",
    "banditlb.balancer",
    "banditlb.fleet",
    "banditlb.harness",
    "banditlb.sim",
    "banditlb.store",
    "banditlb.dashboard",
    "banditlb.cli",
    "time",
    "datetime",
    "threading",
    "subprocess",
}
FORBIDDEN_CALLS = {
    "random.random",
    "random.choice",
    "random.randrange",
    "random.betavariate",
    "random.shuffle",
    "random.uniform",
    "random.seed",
    "random.randint",
    "random.sample",
    "random.gauss",
    "random.expovariate",
    "random.gammavariate",
    "random.getrandbits",
    "random.choices",
}


def pure_files() -> list[Path]:
    files: list[Path] = []
    for entry in PURE:
        path = PACKAGE / entry
        files.extend(
            sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
        )
    return files


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", pure_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_module_imports_nothing_impure(path: Path) -> None:
    """Strategies, models, router, referee and oracle stay free of I/O, clocks and global RNG."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = {
        name
        for name in imported_modules(tree)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_MODULES)
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"
    calls = {
        f"{node.func.value.id}.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
    }
    assert not calls & FORBIDDEN_CALLS, (
        f"{path.name} uses the global RNG: {calls & FORBIDDEN_CALLS}"
    )


def test_there_are_pure_modules_to_check() -> None:
    """The walk above sees the strategy and model packages (guards against a moved folder)."""
    names = {p.name for p in pure_files()}
    assert {"thompson.py", "limits.py", "server.py", "router.py"} <= names


def test_the_rule_catches_a_wall_clock_import() -> None:
    """The import walk sees `from datetime import datetime` and `import time` as forbidden."""
    tree = ast.parse("import time\nfrom datetime import datetime\nimport random\n")
    names = imported_modules(tree)
    assert {"time", "datetime"} <= {n for n in names if n in FORBIDDEN_MODULES}
    assert "random" not in FORBIDDEN_MODULES  # random.Random passed in is allowed


MUTABLE_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
MUTABLE_FACTORIES = {"dict", "list", "set", "deque", "defaultdict", "Counter", "OrderedDict"}


def module_level_mutables(tree: ast.Module) -> list[str]:
    """Names bound at module level to a dict, list or set (literal or built), except __all__."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        names = [ast.unparse(target) for target in targets]
        built = isinstance(value, ast.Call) and (
            ast.unparse(value.func).rsplit(".", 1)[-1] in MUTABLE_FACTORIES
        )
        if names != ["__all__"] and (isinstance(value, MUTABLE_DISPLAYS) or built):
            found.extend(names)
    return found


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_module_level_mutable_containers(path: Path) -> None:
    """Module constants are tuples, frozensets or read-only mappings: no shared mutable state."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert module_level_mutables(tree) == [], path.name


def test_the_mutable_rule_sees_dicts_lists_and_sets() -> None:
    """The scan flags `X = {}`, `Y: list[int] = []` and `Z = set()`, not tuples or __all__."""
    tree = ast.parse("X = {}\nY: list[int] = []\nZ = set()\nT = (1,)\n__all__ = ['a']\n")
    assert module_level_mutables(tree) == ["X", "Y", "Z"]
