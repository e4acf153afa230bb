"""The options every long-running HTTP service here shares (`serve`, `proxy`), declared once
so their names, help and defaults cannot drift apart."""

from __future__ import annotations

from typing import Annotated

import typer

from banditlb.access import TOKEN_ENV
from banditlb.logs import LEVELS

Grace = Annotated[float, typer.Option(help="Seconds in-flight requests get to finish on SIGTERM.")]
StoreBacklog = Annotated[
    int,
    typer.Option(
        help="Most recorded attempts not yet in the store (what a crash can lose); "
        "beyond it new requests get 503 + Retry-After."
    ),
]
ControlToken = Annotated[
    str | None,
    typer.Option(
        help="Require Authorization: Bearer TOKEN on /api/state and /metrics.",
        envvar=TOKEN_ENV,
        show_envvar=True,
    ),
]
LogLevel = Annotated[
    str, typer.Option(help=f"Log level: {', '.join(LEVELS)}. Logs are JSON on stderr.")
]
