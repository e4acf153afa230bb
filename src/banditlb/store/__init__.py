"""The run store: runs and their attempts in SQLite (WAL), written off the request path.

`schema` owns the file and its versions; `runs` and `attempts` are keyword-only functions over
one connection each; `recorder.SqliteRecorder` is the balancer's Recorder; `timeline`,
`compare`, `sweeps` and `export` read stored runs for the dashboard and the CLI.
"""

from __future__ import annotations

from banditlb.store.attempts import MAX_PAGE, count_attempts, insert_attempts, list_attempts
from banditlb.store.recorder import SqliteRecorder
from banditlb.store.rows import AttemptRow, Run, RunCreate, live_run
from banditlb.store.run_ids import check_run_id, is_run_id, new_run_id
from banditlb.store.runs import create_run, finish_run, get_run, list_runs, store_sim_result
from banditlb.store.schema import SCHEMA_VERSION, connect, connect_readonly, default_path
from banditlb.store.sweeps import compare_sweep, list_sweeps, new_sweep_label

__all__ = [
    "MAX_PAGE",
    "SCHEMA_VERSION",
    "AttemptRow",
    "Run",
    "RunCreate",
    "SqliteRecorder",
    "check_run_id",
    "compare_sweep",
    "connect",
    "connect_readonly",
    "count_attempts",
    "create_run",
    "default_path",
    "finish_run",
    "get_run",
    "insert_attempts",
    "is_run_id",
    "list_attempts",
    "list_runs",
    "list_sweeps",
    "live_run",
    "new_run_id",
    "new_sweep_label",
    "store_sim_result",
]
