"""The pure core never imports I/O, asyncio, HTTP, files, the wall clock or the global RNG."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "banditlb"
PURE = ("game", "models", "strategies")
ALLOWED = {"game/clock.py": frozenset({"time"})}
"""The one exception, by name: `WallClock` is the live service's reading of the wall clock."""
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
    "os",
    "io",
    "pathlib",
    "importlib",
    "shutil",
    "tempfile",
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
    """The game's rules, server models and strategies stay free of I/O, clocks and global RNG."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = ALLOWED.get(path.relative_to(PACKAGE).as_posix(), frozenset())
    bad = {
        name
        for name in imported_modules(tree) - allowed
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_MODULES)
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"
    opened = [node.lineno for node in ast.walk(tree) if is_call_to(node, "open")]
    assert not opened, f"{path.name} opens files (line {opened[0]})"
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


def is_call_to(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def test_there_are_pure_modules_to_check() -> None:
    """The walk above sees the strategy, model and game packages (guards against a moved folder)."""
    names = {p.relative_to(PACKAGE).as_posix() for p in pure_files()}
    assert {
        "strategies/thompson.py",
        "strategies/planner/capacity_planner.py",
        "models/limits.py",
        "models/server.py",
        "models/scenario.py",
        "models/oracle.py",
        "game/router.py",
        "game/ledger.py",
        "game/clock.py",
    } <= names
    assert set(ALLOWED) <= names


def test_the_rule_catches_file_reading() -> None:
    """`open(...)`, `pathlib` and `importlib.resources` count as reading files."""
    tree = ast.parse("from pathlib import Path\nfrom importlib import resources\nopen('x')\n")
    names = imported_modules(tree)
    assert {"pathlib", "importlib"} <= {n for n in names if n in FORBIDDEN_MODULES}
    assert any(is_call_to(node, "open") for node in ast.walk(tree))


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


def package_imports(folder: str) -> dict[str, set[str]]:
    """Each module of `banditlb/<folder>` and the banditlb modules it imports."""
    return {
        path.relative_to(PACKAGE).as_posix(): {
            name
            for name in imported_modules(ast.parse(path.read_text(encoding="utf-8")))
            if name.startswith("banditlb")
        }
        for path in sorted((PACKAGE / folder).rglob("*.py"))
    }


def test_the_game_sits_below_everything_but_the_strategy_contract() -> None:
    """`game/` imports only the errors, itself and the Strategy protocol its router drives."""
    allowed = {"banditlb.errors", "banditlb.strategies.base"}
    for module, names in package_imports("game").items():
        outside = {n for n in names if not n.startswith("banditlb.game") and n not in allowed}
        assert not outside, f"{module} imports {sorted(outside)}"


def test_no_subcommand_imports_the_cli_entry_point() -> None:
    """`cli/main.py` imports the subcommands, never the other way round (no import loop)."""
    for module, names in package_imports("cli").items():
        if module != "cli/main.py":
            assert "banditlb.cli.main" not in names, module
