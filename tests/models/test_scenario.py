"""Scenario files: the built-in loads; every broken rule names the file, the field and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from banditlb.errors import BanditLBError, ScenarioError
from banditlb.models import scenario
from banditlb.models.spec import FaultSpec, LimitSpec
from banditlb.scenarios import files as scenario_files

GOOD = """
name = "tiny"
seed = 9
rate = 5.0

[[servers]]
name = "a"
tier = "T1"
port = 4100
error_rate = 0.25
retry_after = true
error_status = 503
latency = { mean = 0.01, jitter = 0.005 }
limits = [{ kind = "fixed_window", limit = 2, window = 0.5 }]
faults = [{ kind = "slow", delay = 0.2, start = 1.0, end = 2.0, probability = 0.5 }]

[[servers]]
name = "b"
tier = "T2"
port = 4101
error_rate = 0.5
"""

SERVER_A = 'name = "a"\ntier = "T1"\nport = 4100\nerror_rate = 0.25\n'


def server(extra: str, base: str = SERVER_A) -> str:
    return f'name = "x"\n[[servers]]\n{base}{extra}\n'


BAD = [
    ("not valid toml", "name = ", "toml", "not valid TOML"),
    ("missing name", "[[servers]]\n" + SERVER_A, "scenario.name", "is required"),
    ("unknown top-level key", "colour = 1\n" + server(""), "scenario.colour", "unknown field"),
    ("negative seed", "seed = -1\n" + server(""), "scenario.seed", "between 0 and"),
    ("zero rate", "rate = 0\n" + server(""), "scenario.rate", "must be > 0"),
    ("no servers", 'name = "x"\n', "servers", "non-empty array"),
    ("port zero", server("", SERVER_A.replace("4100", "0")), "servers[0].port", "between 1"),
    ("port too high", server("", SERVER_A.replace("4100", "70000")), "servers[0].port", "65535"),
    ("port not int", server("", SERVER_A.replace("4100", "4.5")), "servers[0].port", "integer"),
    (
        "duplicate port",
        server("") + '[[servers]]\nname = "b"\nport = 4100\nerror_rate = 0\n',
        "servers[1].port",
        "must be unique",
    ),
    (
        "duplicate name",
        server("") + '[[servers]]\nname = "a"\nport = 4101\nerror_rate = 0\n',
        "servers[1].name",
        "must be unique",
    ),
    (
        "error rate > 1",
        server("", SERVER_A.replace("0.25", "1.5")),
        "servers[0].error_rate",
        "<= 1",
    ),
    (
        "error rate nan",
        server("", SERVER_A.replace("0.25", "nan")),
        "servers[0].error_rate",
        "number",
    ),
    (
        "error rate text",
        server("", SERVER_A.replace("0.25", '"high"')),
        "servers[0].error_rate",
        "must be a number",
    ),
    (
        "missing error rate",
        server("", SERVER_A.replace("error_rate = 0.25\n", "")),
        "servers[0].error_rate",
        "is required",
    ),
    (
        "error status 4xx",
        server("error_status = 404"),
        "servers[0].error_status",
        "between 500 and 599",
    ),
    (
        "retry_after not a mode",
        server('retry_after = "yes"'),
        "servers[0].retry_after",
        "must be true, false or one of seconds, date, fractional, none, got 'yes'",
    ),
    (
        "retry_after a number",
        server("retry_after = 1"),
        "servers[0].retry_after",
        "must be true, false or one of",
    ),
    (
        "unknown rate-limit fields",
        server('rate_limit_headers = "draft"'),
        "servers[0].rate_limit_headers",
        "must be one of ietf, x, none, got 'draft'",
    ),
    (
        "rate-limit fields not a string",
        server("rate_limit_headers = true"),
        "servers[0].rate_limit_headers",
        "must be one of ietf, x, none",
    ),
    (
        "sliding log limit not whole",
        server('limits = [{ kind = "sliding_log", limit = 2.5 }]'),
        "servers[0].limits[0].limit",
        "must be an integer, got 2.5",
    ),
    (
        "sliding counter limit zero",
        server('limits = [{ kind = "sliding_counter", limit = 0, window = 2 }]'),
        "servers[0].limits[0].limit",
        "must be between 1 and",
    ),
    (
        "sliding window zero",
        server('limits = [{ kind = "sliding_log", limit = 3, window = 0 }]'),
        "servers[0].limits[0].window",
        "must be > 0",
    ),
    (
        "gcra without interval",
        server('limits = [{ kind = "gcra", tolerance = 1 }]'),
        "servers[0].limits[0].interval",
        "is required for kind 'gcra'",
    ),
    (
        "gcra negative tolerance",
        server('limits = [{ kind = "gcra", interval = 0.5, tolerance = -1 }]'),
        "servers[0].limits[0].tolerance",
        "must be >= 0",
    ),
    (
        "leaky bucket burst below one",
        server('limits = [{ kind = "leaky_bucket", rate = 2, burst = 0.5 }]'),
        "servers[0].limits[0].burst",
        "must be >= 1",
    ),
    (
        "concurrency without hold or latency",
        server('limits = [{ kind = "concurrency", limit = 2 }]'),
        "servers[0].limits[0].hold",
        "is required when the server's latency mean is 0",
    ),
    (
        "concurrency hold zero",
        server('limits = [{ kind = "concurrency", limit = 2, hold = 0 }]'),
        "servers[0].limits[0].hold",
        "must be > 0",
    ),
    (
        "sinusoid bucket without period",
        server('limits = [{ kind = "sinusoid_bucket", base = 2, amplitude = 1 }]'),
        "servers[0].limits[0].period",
        "is required for kind 'sinusoid_bucket'",
    ),
    (
        "sinusoid bucket negative base",
        server('limits = [{ kind = "sinusoid_bucket", base = -1, amplitude = 1, period = 5 }]'),
        "servers[0].limits[0].base",
        "must be >= 0",
    ),
    (
        "piecewise segments not pairs",
        server('limits = [{ kind = "piecewise_bucket", segments = [[0, 1, 2]] }]'),
        "servers[0].limits[0].segments[0]",
        "[start, rate] pairs",
    ),
    (
        "piecewise first segment late",
        server('limits = [{ kind = "piecewise_bucket", segments = [[5, 1]] }]'),
        "servers[0].limits[0].segments[0]",
        "starts must begin at 0",
    ),
    (
        "piecewise starts not rising",
        server('limits = [{ kind = "piecewise_bucket", segments = [[0, 1], [4, 2], [4, 3]] }]'),
        "servers[0].limits[0].segments[2]",
        "rise strictly",
    ),
    (
        "piecewise negative rate",
        server('limits = [{ kind = "piecewise_bucket", segments = [[0, -1]] }]'),
        "servers[0].limits[0].segments[0].rate",
        "must be >= 0",
    ),
    (
        "error drift not a table",
        server("error_drift = 0.2"),
        "servers[0].error_drift",
        "must be a table",
    ),
    (
        "error drift amplitude above one",
        server("error_drift = { amplitude = 1.5, period = 60 }"),
        "servers[0].error_drift.amplitude",
        "must be <= 1",
    ),
    (
        "error drift without period",
        server("error_drift = { amplitude = 0.2 }"),
        "servers[0].error_drift.period",
        "is required",
    ),
    (
        "error drift period zero",
        server("error_drift = { amplitude = 0.2, period = 0 }"),
        "servers[0].error_drift.period",
        "must be > 0",
    ),
    (
        "error drift unknown key",
        server("error_drift = { amplitude = 0.2, period = 5, shape = 1 }"),
        "servers[0].error_drift.shape",
        "unknown field",
    ),
    (
        "piecewise empty",
        server('limits = [{ kind = "piecewise_bucket", segments = [] }]'),
        "servers[0].limits[0].segments",
        "non-empty array",
    ),
    (
        "piecewise period inside the schedule",
        server(
            'limits = [{ kind = "piecewise_bucket", segments = [[0, 1], [10, 2]], period = 8 }]'
        ),
        "servers[0].limits[0].period",
        "longer than the last segment's start",
    ),
    ("unknown server key", server("colour = 1"), "servers[0].colour", "unknown field"),
    ("negative latency", server("latency = { mean = -1 }"), "servers[0].latency.mean", ">= 0"),
    ("limits not array", server('limits = "x"'), "servers[0].limits", "array of tables"),
    (
        "unknown limit kind",
        server('limits = [{ kind = "leaky" }]'),
        "servers[0].limits[0].kind",
        "must be one of",
    ),
    (
        "limit missing param",
        server('limits = [{ kind = "fixed_window" }]'),
        "servers[0].limits[0].limit",
        "is required for kind 'fixed_window'",
    ),
    (
        "token bucket rate zero",
        server('limits = [{ kind = "token_bucket", rate = 0 }]'),
        "servers[0].limits[0].rate",
        "must be > 0",
    ),
    (
        "unknown limit param",
        server('limits = [{ kind = "token_bucket", rate = 1, size = 2 }]'),
        "servers[0].limits[0].size",
        "unknown field",
    ),
    (
        "outage as long as its period",
        server('limits = [{ kind = "outage", period = 5, duration = 5 }]'),
        "servers[0].limits[0].duration",
        "shorter than period",
    ),
    (
        "bad step inner limit",
        server('limits = [{ kind = "step", at = 1, after = { kind = "fixed_window" } }]'),
        "servers[0].limits[0].after.limit",
        "is required",
    ),
    (
        "unknown fault kind",
        server('faults = [{ kind = "explode" }]'),
        "servers[0].faults[0].kind",
        "must be one of",
    ),
    (
        "slow without delay",
        server('faults = [{ kind = "slow" }]'),
        "servers[0].faults[0].delay",
        "must be > 0 for kind 'slow'",
    ),
    (
        "flap down not inside period",
        server('faults = [{ kind = "flap", period = 2, down = 3 }]'),
        "servers[0].faults[0].down",
        "0 < down < period",
    ),
    (
        "fault ends before it starts",
        server('faults = [{ kind = "hang", start = 5, end = 2 }]'),
        "servers[0].faults[0].end",
        "must be > 5",
    ),
    (
        "fault probability above one",
        server('faults = [{ kind = "reset", probability = 2 }]'),
        "servers[0].faults[0].probability",
        "<= 1",
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "rule"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_bad_field_names_file_field_and_rule(text: str, field: str, rule: str) -> None:
    """Each broken rule raises ScenarioError "bad.toml: <field>: <rule ...>"."""
    with pytest.raises(ScenarioError) as caught:
        scenario.loads(text, "bad.toml")
    assert (caught.value.source, caught.value.field) == ("bad.toml", field)
    assert rule in caught.value.rule
    assert str(caught.value).startswith(f"bad.toml: {field}: ")
    assert isinstance(caught.value, BanditLBError)


def test_good_scenario_builds_every_field() -> None:
    """A valid file yields the exact specs, tiers in first-seen order, defaults filled in."""
    loaded = scenario.loads(GOOD, "good.toml")
    assert (loaded.name, loaded.seed, loaded.rate, loaded.source) == ("tiny", 9, 5.0, "good.toml")
    assert loaded.tiers() == ["T1", "T2"]
    a, b = loaded.servers
    assert (a.port, a.error_rate, a.error_status, a.retry_after) == (4100, 0.25, 503, "seconds")
    assert (a.rate_limit_headers, b.rate_limit_headers) == ("none", "none")
    assert (a.latency.mean, a.latency.jitter) == (0.01, 0.005)
    assert a.limits == (LimitSpec("fixed_window", (("limit", 2.0), ("window", 0.5))),)
    assert a.faults == (FaultSpec("slow", 1.0, 2.0, 0.5, 0.2),)
    assert (b.error_status, b.retry_after, b.limits, b.faults) == (500, "none", (), ())
    assert loaded.tier("T2") == (b,)


def test_builtin_default_has_three_tiers_of_ten() -> None:
    """The built-in default: seed 42, tiers T1/T2/T3 on ports 4000-4009, 5000-5009, 6000-6009."""
    loaded = scenario_files.load()
    assert "default" in scenario_files.builtin_names()
    assert (loaded.name, loaded.seed, loaded.source) == ("default", 42, "builtin:default")
    assert loaded.tiers() == ["T1", "T2", "T3"]
    for tier, first in (("T1", 4000), ("T2", 5000), ("T3", 6000)):
        assert [s.port for s in loaded.tier(tier)] == list(range(first, first + 10))
    assert all(s.build_limiter() is None for s in loaded.tier("T1"))
    assert all(s.limits for s in loaded.tier("T2") + loaded.tier("T3"))


def test_unknown_builtin_and_missing_file_are_scenario_errors() -> None:
    """An unknown name lists the built-ins; a missing .toml file says it cannot be read."""
    with pytest.raises(ScenarioError, match=r"^nonesuch: scenario: no such file .*built-ins: "):
        scenario_files.load("nonesuch")
    with pytest.raises(ScenarioError, match=r"missing\.toml: file: cannot be read"):
        scenario_files.load("missing.toml")


def test_load_reads_a_file_path(tmp_path: Path) -> None:
    """A path to a TOML file loads with the path as its source."""
    path = tmp_path / "tiny.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert scenario_files.load(path).source == str(path)


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("true", "seconds"),
        ("false", "none"),
        ('"seconds"', "seconds"),
        ('"date"', "date"),
        ('"fractional"', "fractional"),
        ('"none"', "none"),
    ],
)
def test_retry_after_modes_and_booleans(value: str, mode: str) -> None:
    """retry_after takes a mode name; true keeps meaning whole seconds, false none."""
    loaded = scenario.loads(server(f"retry_after = {value}"), "modes.toml")
    assert loaded.servers[0].retry_after == mode


def test_new_limit_kinds_and_headers_load() -> None:
    """Every new limiter kind and both header dialects load into exact specs and build."""
    text = server(
        'rate_limit_headers = "ietf"\n'
        "latency = { mean = 0.2 }\n"
        "limits = [\n"
        '  { kind = "sliding_log", limit = 3, window = 2.5 },\n'
        '  { kind = "sliding_counter", limit = 4 },\n'
        '  { kind = "gcra", interval = 0.25, tolerance = 0.5 },\n'
        '  { kind = "leaky_bucket", rate = 4, burst = 3 },\n'
        '  { kind = "concurrency", limit = 2 },\n'
        '  { kind = "sinusoid_bucket", base = 3, amplitude = 2, period = 30, phase = 1.0 },\n'
        '  { kind = "piecewise_bucket", segments = [[0, 4], [20, 1.5]], period = 40 },\n'
        '  { kind = "step", at = 10, before = { kind = "fixed_window", limit = 4 }, '
        'after = { kind = "step", at = 20, before = { kind = "fixed_window", limit = 1 }, '
        'after = { kind = "concurrency", limit = 1 } } },\n'
        "]"
    )
    loaded = scenario.loads(text, "kinds.toml").servers[0]
    assert loaded.rate_limit_headers == "ietf"
    assert [limit.kind for limit in loaded.limits] == [
        "sliding_log",
        "sliding_counter",
        "gcra",
        "leaky_bucket",
        "concurrency",
        "sinusoid_bucket",
        "piecewise_bucket",
        "step",
    ]
    assert loaded.limits[6].param("segments") == ((0.0, 4.0), (20.0, 1.5))
    limiter = loaded.build_limiter()
    assert limiter is not None
    # The tightest sustained rate: concurrency 2 / 0.2 s = 10, sinusoid at 0 = 3 + 2 sin(1).
    assert limiter.capacity(0.0) == pytest.approx(min(3 / 2.5, 4, 4, 4, 10, 3 + 2 * 0.841471, 4))
    assert loaded.limits[7].build(0.2).capacity(25.0) == pytest.approx(1 / 0.2)


def test_non_utf8_scenario_file_is_a_scenario_error(tmp_path: Path) -> None:
    """A scenario file in Latin-1 (not UTF-8) is a ScenarioError naming the file, no traceback."""
    bad = tmp_path / "latin.toml"
    bad.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin\.toml: file: is not UTF-8 text"):
        scenario_files.load(bad)
