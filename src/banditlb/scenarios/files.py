"""Scenario files: a TOML path, or the name of a scenario shipped in this package.

The edge where scenarios are read; validating the text is `banditlb.models.scenario` (pure).
A file that cannot be read, or is not UTF-8, is a `ScenarioError` naming the file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from banditlb.errors import ScenarioError
from banditlb.models.scenario import loads
from banditlb.models.spec import Scenario

BUILTIN_PACKAGE = "banditlb.scenarios"
DEFAULT_SCENARIO = "default"


def builtin_names() -> list[str]:
    """Names of the scenarios shipped inside the package."""
    return sorted(
        p.name.removesuffix(".toml")
        for p in resources.files(BUILTIN_PACKAGE).iterdir()
        if p.name.endswith(".toml")
    )


def load(ref: str | Path | None = None) -> Scenario:
    """Load a scenario by file path, or by the name of a built-in one (default: 'default')."""
    if ref is None:
        ref = DEFAULT_SCENARIO
    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(str(path), "file", f"cannot be read: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                str(path), "file", f"is not UTF-8 text (byte {exc.start}); save it as UTF-8 TOML"
            ) from None
        return loads(text, str(path))
    name = str(ref)
    if name not in builtin_names():
        raise ScenarioError(
            name,
            "scenario",
            f"no such file or built-in scenario; built-ins: {', '.join(builtin_names())}",
        )
    text = resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return loads(text, f"builtin:{name}")
