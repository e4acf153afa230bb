"""How every subcommand prints: a console that never wraps when output is not a terminal,
English plurals, JSON for `--json`, and the one-line `error: ...` exit (`fail`).

Rich assumes 80 columns when stdout is a pipe or a file, which breaks URLs, paths and run ids
across lines; piped output is read by programs and by `less -S`, so it gets no width limit.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, NoReturn

from rich.console import Console
from rich.markup import escape

PIPE_WIDTH = 1000
"""Columns assumed when output is not a terminal: wide enough that nothing wraps."""


def console(*, stderr: bool = False) -> Console:
    """A console for stdout (or stderr): the terminal's width, or no wrapping in a pipe."""
    found = Console(stderr=stderr, soft_wrap=True)
    if found.is_terminal:
        return found
    return Console(stderr=stderr, soft_wrap=True, width=PIPE_WIDTH)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 seed`, `2 seeds`, `0 runs` (`many` for irregular plurals)."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def print_json(document: Any) -> None:
    """One JSON document on stdout (for `--json`), nothing else; NaN and infinities (an
    undefined interval or p-value) become null, so any strict JSON parser reads it."""
    sys.stdout.write(json.dumps(_finite(document), indent=2, allow_nan=False, default=str) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def fail(message: str, *, status: int = 2) -> NoReturn:
    """Print `error: message` as one unwrapped line on stderr and exit with `status`."""
    console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(status)
