"""The report table: referee columns and the share of the oracle bound."""

from __future__ import annotations

from rich.console import Console

from banditlb.cli.load_report import report_table
from banditlb.harness.load import LoadPlan, LoadReport


def report(accepted: int, penalised: int) -> LoadReport:
    plan = LoadPlan(url="http://127.0.0.1:1/", rps=10, requests=100)
    referee = {"accepted": accepted, "penalised_attempts": penalised, "score": accepted - penalised}
    return LoadReport(plan, 100, accepted, 100 - accepted, 0, 0, 10.0, (0.01,), {}, referee)


def render(table: object) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_oracle_column_shows_score_per_request_over_the_bound() -> None:
    """Score 0.95 per request against a bound of 0.99 shows as 96.0% of oracle."""
    text = render(report_table([("T2", "planner", report(95, 0))], "t", oracle={"T2": 0.99}))
    assert "% of oracle" in text
    assert "96.0%" in text
    assert "0.950" in text


def test_without_oracle_there_is_no_oracle_column() -> None:
    """Without bounds the table keeps its ten columns."""
    text = render(report_table([("T1", "random", report(80, 2))], "t"))
    assert "% of oracle" not in text
    assert "78.0" in text
