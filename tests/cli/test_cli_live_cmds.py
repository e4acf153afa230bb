"""`banditlb serve`, `load` and `run`: bad input exits 2 in one line; no answer at all exits 1."""

from __future__ import annotations

import socket

import pytest

import banditlb.balancer
import banditlb.harness
from banditlb.cli.main import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve"], "give exactly one of --upstreams or --tier"),
        (["serve", "--tier", "T1", "--upstreams", "h:1"], "give exactly one of --upstreams"),
        (["serve", "--upstreams", "h:2-1"], "upstream 'h:2-1': port range 2-1 runs backwards"),
        (["serve", "--tier", "T7"], "tier 'T7' is not in scenario 'default'"),
        (["serve", "--tier", "T1", "--strategy", "nope"], "unknown strategy 'nope'"),
        (["serve", "--tier", "T1", "--param", "x"], "strategy parameter 'x' must look like"),
        (["load", "--url", "http://127.0.0.1:9/", "--body", "xml"], "--body must be raw or json"),
        (["load", "--url", "http://127.0.0.1:9/", "--rps", "0"], "rps must be a finite number"),
        (["run", "--strategy", "nope"], "unknown strategy 'nope'"),
        (["run", "--duration", "0"], "duration must be a finite number of seconds > 0"),
        (["run", "--penalty", "-1"], "penalty must be a finite number >= 0, got -1.0"),
        (["run", "--control-port", "0"], "--control-port must be between 1 and 65535, got 0"),
        (["run", "--base-port", "65535"], "--base-port 65535 leaves no room for 3 balancers"),
        (["load", "--url", "127.0.0.1:9"], "url must be an http:// or https:// URL with a host"),
        (["load", "--url", "http://127.0.0.1:9/", "--requests", "0"], "--requests must be >= 1"),
        (["serve", "--tier", "T1", "--penalty", "nan"], "--penalty must be a number in [0, 1e+06]"),
        (["serve", "--tier", "T1", "--penalty", "inf"], "--penalty must be a number in [0, 1e+06]"),
        (["run", "--penalty", "nan"], "--penalty must be a finite number >= 0, got nan"),
        (
            ["serve", "--tier", "T1", "--strategy", "thompson", "--param", "prior_alpha=nan"],
            "parameter prior_alpha must be a number in [0.001, 1e+06], got nan",
        ),
        (
            ["run", "--strategy", "kl_ucb", "--param", "tolerance=1e-308"],
            "parameter tolerance must be a number in [1e-12, 0.5), got 1e-308",
        ),
        (
            ["serve", "--upstreams", "http://127.0.0.1:4000"],
            "upstream 'http://127.0.0.1:4000': give host:port without a scheme",
        ),
        (["serve", "--upstreams", "127.0.0.1:4_000"], "port '4_000' is not a number in 1..65535"),
        (
            ["serve", "--upstreams", "127.0.0.1:\uff14\uff10\uff10\uff10"],
            "is not a number in 1..65535",
        ),
        (["serve", "--tier", "T1", "--db", "/proc/version"], "run database '/proc/version'"),
        (["sim", "--penalty", "inf", "--no-store"], "--penalty must be a number in [0, 1e+06]"),
        (
            ["serve", "--tier", "T1", "--strategy", "sliding_window_ucb", "--param", "window=1e29"],
            "parameter window must be an integer in 1..1000000, got '1e29'",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each mistake is reported on stderr in one line naming the rule; nothing is started."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    raw = capsys.readouterr().err
    assert raw.count("\n") == 1, raw
    err = " ".join(raw.split())
    assert err.startswith("error: ")
    assert message in err


@pytest.mark.parametrize("package", [banditlb.balancer, banditlb.harness])
def test_public_api_names_exist(package: object) -> None:
    """Every name in the package's __all__ is importable from it."""
    names = package.__all__  # type: ignore[attr-defined]
    assert names == sorted(names)
    assert all(hasattr(package, name) for name in names)


def test_load_with_no_answer_at_all_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Against a closed port every request fails to connect: one error line, exit status 1."""
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(SystemExit) as info:
        main(["load", "--url", url, "--requests", "3", "--rps", "100", "--timeout", "5"])
    assert info.value.code == 1
    raw = capsys.readouterr().err
    assert raw.count("\n") == 1, raw
    err = " ".join(raw.split())
    assert err == (
        f"error: no request got an answer from {url}: 3 of 3 failed to connect or timed out"
        " (is the balancer running?)"
    )
