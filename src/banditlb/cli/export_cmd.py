"""`banditlb export RUN`: one stored run's attempts as CSV or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from banditlb.cli import output
from banditlb.cli.runs_cmd import DbOption
from banditlb.errors import StoreError
from banditlb.store.attempts import count_attempts
from banditlb.store.export import FORMATS, export_attempts
from banditlb.store.run_ids import check_run_id
from banditlb.store.runs import get_run
from banditlb.store.schema import connect_readonly, default_path


def export(
    run: Annotated[str, typer.Argument(help="The run id, e.g. 20261127-201500-ab12.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file (default: RUN.FORMAT here).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a stored run's attempts to a CSV or Parquet file."""
    run_id = check_run_id(run)
    if fmt not in FORMATS:
        raise StoreError(f"export format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    path = db or default_path()
    if not path.exists():
        raise StoreError(f"no run {run_id}: run database {str(path)!r} does not exist")
    target = out or Path(f"{run_id}.{fmt}")
    conn = connect_readonly(path)
    try:
        run_row = get_run(conn, run_id=run_id)  # an unknown run is an error (exit 2)
        if count_attempts(conn, run_id=run_id) == 0:
            # Nothing to export is not success: say why, write no empty file, exit 1.
            why = (
                "simulated runs keep attempts only with `banditlb sim --store-attempts`"
                if run_row.source == "simulated"
                else "the balancer recorded none (no traffic, or --no-record)"
            )
            output.fail(f"run {run_id} has no stored attempts to export: {why}", status=1)
        count = export_attempts(conn, run_id=run_id, fmt=fmt, out=target)
    finally:
        conn.close()
    output.console().print(f"wrote {output.plural(count, 'attempt')} of run {run_id} to {target}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
