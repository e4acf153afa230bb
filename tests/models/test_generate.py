"""Generated scenarios: seeded, byte-stable, valid, and drawn from a broad family."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from banditlb.cli.main import main
from banditlb.errors import ConfigError
from banditlb.models import generate as gen
from banditlb.models.server import ServerModel
from banditlb.models.spec import LIMIT_KINDS, LimitSpec
from banditlb.scenarios import files as scenario_files

FAMILY = range(60)


def kinds(limit: LimitSpec) -> Iterator[str]:
    """The kinds of a limit and of every limit nested in it."""
    yield limit.kind
    for _, value in limit.params:
        if isinstance(value, LimitSpec):
            yield from kinds(value)


def run_main(argv: list[str]) -> int:
    """The CLI's exit status."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    code = exited.value.code
    return code if isinstance(code, int) else 0


def test_same_seed_same_bytes_and_other_seeds_differ() -> None:
    """Generating a seed twice gives identical text; neighbouring seeds give different text."""
    assert gen.generate_toml(11) == gen.generate_toml(11)
    assert gen.generate_toml(11) != gen.generate_toml(12)
    assert gen.generate_toml(11, ("T3",)) == gen.generate_toml(11, ("T3",))


def test_bytes_do_not_depend_on_the_process_or_hash_seed() -> None:
    """The CLI in a fresh process with another PYTHONHASHSEED prints exactly the same TOML."""
    code = "from banditlb.cli.main import main; main(['scenarios', 'random', '--seed', '5'])"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    printed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == gen.generate_toml(5)


def test_a_tier_is_the_same_alone_or_with_the_other() -> None:
    """T2 of a seed has the same servers whether or not T3 is generated with it."""
    both = gen.generate(21)
    alone = gen.generate(21, ("T2",))
    assert alone.servers == both.tier("T2")
    assert alone.name == "random-21-T2"
    assert both.name == "random-21"


def test_every_generated_scenario_is_valid_with_ten_servers_per_tier() -> None:
    """Each scenario parses, has 10 servers per tier on the tier's ports, at 10 requests/s."""
    for seed in FAMILY:
        world = gen.generate(seed)
        assert world.rate == 10.0
        assert world.tiers() == ["T2", "T3"]
        for tier, base in (("T2", 5000), ("T3", 6000)):
            servers = world.tier(tier)
            assert [s.port for s in servers] == list(range(base, base + 10))
            assert all(0.02 <= s.error_rate <= 0.95 for s in servers)
            assert all(0.001 <= s.latency.mean <= 0.05 for s in servers)
            assert all(s.latency.jitter <= s.latency.mean / 2 + 1e-4 for s in servers)
            assert min(s.error_rate for s in servers) <= 0.2  # at least one good server
            assert all(s.limits for s in servers)


def test_the_family_covers_every_shape_mode_and_capacity_regime() -> None:
    """Over 60 seeds: every limit kind, Retry-After mode and header style, stacked limits, long
    and offset windows, buckets of one, and total capacity both tight and ample."""
    seen: set[str] = set()
    modes: set[str] = set()
    headers: set[str] = set()
    stacked = windows = offsets = bursts_of_one = 0
    totals: list[float] = []
    for seed in FAMILY:
        world = gen.generate(seed)
        for tier in world.tiers():
            servers = world.tier(tier)
            totals.append(sum(ServerModel(s, 0).capacity(0.0) for s in servers))
            for server in servers:
                modes.add(server.retry_after)
                headers.add(server.rate_limit_headers)
                stacked += len(server.limits) > 1
                for limit in server.limits:
                    seen.update(kinds(limit))
                    windows += limit.kind == "fixed_window" and limit.param("window", 1) != 1
                    offsets += limit.kind == "fixed_window" and bool(limit.param("offset"))
                    bursts_of_one += limit.kind == "token_bucket" and limit.param("burst") == 1
    assert seen == set(gen.GENERATED_KINDS)
    assert set(gen.GENERATED_KINDS) <= set(LIMIT_KINDS)
    assert modes == {"seconds", "date", "fractional", "none"}
    assert headers == {"ietf", "x", "none"}
    assert min(stacked, windows, offsets, bursts_of_one) > 0
    assert min(totals) < 3 * gen.RATE < max(totals)  # below three attempts per id, and above


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", range(7, 8)), ("0-99", range(100)), ("1000-1199", range(1000, 1200))],
)
def test_seed_ranges_parse(text: str, expected: range) -> None:
    """'N' is one seed and 'A-B' the inclusive range."""
    assert gen.parse_seeds(text) == expected


@pytest.mark.parametrize("text", ["", "x", "5-3", "-1", "1-", "0-20000"])
def test_bad_seed_ranges_are_config_errors(text: str) -> None:
    """Anything but N or A-B with 0 <= A <= B (and at most 10,000 scenarios) is rejected."""
    with pytest.raises(ConfigError):
        gen.parse_seeds(text)


def test_cli_writes_a_file_that_scenarios_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scenarios random --seed N --tier T3 --output F` writes F; `scenarios F` shows it."""
    path = tmp_path / "r.toml"
    assert (
        run_main(["scenarios", "random", "--seed", "3", "--tier", "T3", "--output", str(path)]) == 0
    )
    assert path.read_text(encoding="utf-8") == gen.generate_toml(3, ("T3",))
    assert scenario_files.load(path).name == "random-3-T3"
    capsys.readouterr()
    assert run_main(["scenarios", str(path)]) == 0
    assert "random-3-T3" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scenarios", "random"], "needs --seed"),
        (["scenarios", "random", "--seed", "1", "--tier", "T1"], "generated tiers are T2, T3"),
        (["scenarios", "default", "--seed", "1"], "go with 'banditlb scenarios random'"),
        (["scenarios", "random", "--seed", "-1"], "--seed"),
    ],
)
def test_cli_bad_generator_input_is_one_error_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Missing seed, unknown tier, options without 'random', a negative seed: exit 2, one line."""
    assert run_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert message in err


def test_cli_output_to_a_folder_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--output naming a folder is refused with one line."""
    assert run_main(["scenarios", "random", "--seed", "1", "--output", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_checks_are_quick_to_generate() -> None:
    """A generated scenario carries its seed and a description naming each tier's regime."""
    world = gen.generate(9)
    assert world.seed == 9
    assert world.source == "random:9"
    assert "T2 " in world.description
    assert "T3 " in world.description
    assert "tight" in world.description or "ample" in world.description


def test_cli_shows_each_servers_retry_after_mode_and_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scenarios FILE` lists every server with its Retry-After mode and header style."""
    path = tmp_path / "r.toml"
    assert run_main(["scenarios", "random", "--seed", "3", "--output", str(path)]) == 0
    capsys.readouterr()
    assert run_main(["scenarios", str(path)]) == 0
    printed = capsys.readouterr().out
    for server in scenario_files.load(path).servers:
        row = next(line for line in printed.splitlines() if f" {server.name} " in line)
        assert f" {server.retry_after} " in row
        assert f" {server.rate_limit_headers} " in row


def test_error_rates_drift_on_some_servers_of_each_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    """Some servers of both tiers drift (more on T3) and their error rate moves with time,
    within [0, 1]; drift is drawn apart, so the other draws match a tier without it."""
    drifting = {"T2": 0, "T3": 0}
    for seed in FAMILY:
        for server in gen.generate(seed).servers:
            if server.error_drift is None:
                continue
            drifting[server.tier] += 1
            rates = [server.error_rate_at(t) for t in range(0, 600, 7)]
            assert all(0.0 <= r <= 1.0 for r in rates)
            assert max(rates) - min(rates) > 0.05
    assert 0 < drifting["T2"] < drifting["T3"]
    with_drift = gen.generate(3, ("T3",))
    assert "error rates drifting" in with_drift.description
    monkeypatch.setattr(gen, "DRIFT_SHARE", {"T2": 0.0, "T3": 0.0})
    still = gen.generate(3, ("T3",))
    assert all(s.error_drift is None for s in still.servers)
    assert [replace(s, error_drift=None) for s in with_drift.servers] == list(still.servers)
