"""The read-only JSON API over stored runs: list, one run, paged attempts, timeline, compare,
and simulator sweeps (list; compare a whole sweep, aggregated here, by its label).

Every handler opens its own read-only SQLite connection on a worker thread (WAL readers never
block the recorder). Run ids are checked against the run-id regex and used only as bound SQL
parameters, as are sweep labels (checked against their own regex). Errors are
`{"error": "..."}`: 400 for bad parameters, ids or labels, 404 for unknown runs and sweeps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from banditlb.colours import strategy_colours
from banditlb.errors import BanditLBError, StoreError
from banditlb.store.attempts import MAX_PAGE, count_attempts, iter_attempts, list_attempts
from banditlb.store.compare import compare_runs, run_curve
from banditlb.store.export import csv_chunks
from banditlb.store.rows import SOURCES, Run
from banditlb.store.run_ids import is_run_id
from banditlb.store.runs import get_run, list_runs
from banditlb.store.schema import connect_readonly
from banditlb.store.sweeps import (
    SWEEP_LABEL_RULE,
    Sweep,
    compare_sweep,
    is_sweep_label,
    list_sweeps,
)
from banditlb.store.timeline import run_timeline

T = TypeVar("T")
MAX_COMPARE = 50
DEFAULT_PAGE = 100


class ApiError(BanditLBError):
    """A request the API refuses, answered `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = status


class RunsApi:
    """Handlers bound to one database file; mount with `routes()` from `dashboard.routes`."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path

    async def index(self, request: Request) -> Response:
        limit = _int_param(request, "limit", 50, low=1, high=MAX_PAGE)
        offset = _int_param(request, "offset", 0, low=0, high=MAX_OFFSET)
        source = request.query_params.get("source") or None
        if source is not None and source not in SOURCES:
            raise ApiError(400, f"source must be one of {', '.join(SOURCES)}; got {source!r}")
        none: list[Run] = []
        runs = await self._read(
            lambda conn: list_runs(conn, limit=limit, offset=offset, source=source), empty=none
        )
        return JSONResponse(
            {"limit": limit, "offset": offset, "runs": [_brief(run) for run in runs]}
        )

    async def one(self, request: Request) -> Response:
        run_id = _run_id(request)

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            run = _get(conn, run_id)
            return {**run.to_dict(), "attempts": count_attempts(conn, run_id=run_id)}

        return JSONResponse(await self._read(read))

    async def attempts(self, request: Request) -> Response:
        run_id = _run_id(request)
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "csv"):
            raise ApiError(400, f"format must be json or csv; got {fmt!r}")
        paged = fmt == "json" or "limit" in request.query_params
        offset = _int_param(request, "offset", 0, low=0, high=MAX_OFFSET)
        limit = _int_param(request, "limit", DEFAULT_PAGE, low=1, high=MAX_PAGE)
        if fmt == "csv":
            return await self._csv(run_id, offset=offset, limit=limit if paged else None)

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            _get(conn, run_id)
            rows = list_attempts(conn, run_id=run_id, offset=offset, limit=limit)
            return {
                "run_id": run_id,
                "offset": offset,
                "limit": limit,
                "total": count_attempts(conn, run_id=run_id),
                "attempts": [row.to_dict() for row in rows],
            }

        return JSONResponse(await self._read(read))

    async def timeline(self, request: Request) -> Response:
        run_id = _run_id(request)
        line = await self._read(lambda conn: run_timeline(conn, run=_get(conn, run_id)))
        return JSONResponse(line.to_dict())

    async def sweeps(self, request: Request) -> Response:
        limit = _int_param(request, "limit", 100, low=1, high=MAX_PAGE)
        none: list[Sweep] = []
        found = await self._read(lambda conn: list_sweeps(conn, limit=limit), empty=none)
        return JSONResponse({"sweeps": [sweep.to_dict() for sweep in found]})

    async def compare(self, request: Request) -> Response:
        ids = request.query_params.getlist("run")
        sweeps = request.query_params.getlist("sweep")
        if sweeps:
            if ids or len(sweeps) > 1:
                raise ApiError(400, "compare one sweep (?sweep=LABEL) or runs (?run=ID), not both")
            return await self._compare_sweep(sweeps[0])
        if not ids:
            raise ApiError(400, "give one or more runs as ?run=ID&run=ID, or ?sweep=LABEL")
        if len(ids) > MAX_COMPARE:
            raise ApiError(400, f"compare at most {MAX_COMPARE} runs; got {len(ids)}")
        for run_id in ids:
            _check(run_id)

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            runs = [_get(conn, run_id) for run_id in dict.fromkeys(ids)]
            return {
                "unit": "per run",
                "runs": [_brief(run) for run in runs],
                "cells": [cell.to_dict() for cell in compare_runs(runs)],
                "curves": [run_curve(conn, run=run).to_dict() for run in runs],
                "colours": strategy_colours(run.strategy for run in runs),
            }

        return JSONResponse(await self._read(read))

    async def _compare_sweep(self, label: str) -> Response:
        if not is_sweep_label(label):
            raise ApiError(400, f"bad sweep label {label[:40]!r}: {SWEEP_LABEL_RULE}")

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            try:
                found = compare_sweep(conn, label=label)
            except StoreError as exc:
                raise ApiError(404, str(exc)) from exc
            body = {"unit": "per request", **found.to_dict()}
            body["colours"] = strategy_colours(cell["strategy"] for cell in body["cells"])
            return body

        return JSONResponse(await self._read(read))

    async def _csv(self, run_id: str, *, offset: int, limit: int | None) -> Response:
        await self._read(lambda conn: _get(conn, run_id))

        def rows() -> Iterator[str]:
            conn = connect_readonly(self.store_path)
            try:
                if limit is None:
                    yield from csv_chunks(iter_attempts(conn, run_id=run_id))
                else:
                    page = list_attempts(conn, run_id=run_id, offset=offset, limit=limit)
                    yield from csv_chunks(iter(page))
            finally:
                conn.close()

        headers = {"Content-Disposition": f'attachment; filename="{run_id}-attempts.csv"'}
        return StreamingResponse(
            iterate_in_threadpool(rows()), media_type="text/csv", headers=headers
        )

    async def _read(self, work: Callable[[sqlite3.Connection], T], empty: T | None = None) -> T:
        def run() -> T:
            if not self.store_path.exists():
                if empty is not None:
                    return empty
                raise ApiError(404, "no runs stored yet")
            try:
                conn = connect_readonly(self.store_path)
            except StoreError as exc:  # e.g. a file of another schema version
                raise ApiError(503, str(exc)) from exc
            try:
                return work(conn)
            finally:
                conn.close()

        return await run_in_threadpool(run)


def _brief(run: Run) -> dict[str, Any]:
    """A run for listings: everything but the simulator's stored curve."""
    data = run.to_dict()
    data["totals"] = {k: v for k, v in run.totals.items() if k not in ("curve", "arms")}
    return data


def _get(conn: sqlite3.Connection, run_id: str) -> Run:
    try:
        return get_run(conn, run_id=run_id)
    except StoreError as exc:
        raise ApiError(404, str(exc)) from exc


def _run_id(request: Request) -> str:
    return _check(str(request.path_params["run_id"]))


def _check(run_id: str) -> str:
    if not is_run_id(run_id):
        raise ApiError(400, f"bad run id {run_id[:40]!r}: looks like 20261127-201500-ab12")
    return run_id


MAX_OFFSET = 2**63 - 1
"""SQLite's largest INTEGER: a larger offset would overflow in the query (a 500, not a 400)."""


def _int_param(
    request: Request, name: str, default: int, *, low: int, high: int | None = None
) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer; got {raw[:20]!r}") from None
    if value < low or (high is not None and value > high):
        rule = f">= {low}" if high is None else f"between {low} and {high}"
        raise ApiError(400, f"{name} must be {rule}; got {value}")
    return value
