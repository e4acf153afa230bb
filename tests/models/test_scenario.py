"""Scenario files: the built-in loads; every broken rule names the file, the field and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from banditlb.errors import BanditLBError, ScenarioError
from banditlb.models import scenario
from banditlb.models.spec import FaultSpec, LimitSpec

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
        "retry_after not bool",
        server('retry_after = "yes"'),
        "servers[0].retry_after",
        "true or false",
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
    assert (a.port, a.error_rate, a.error_status, a.retry_after) == (4100, 0.25, 503, True)
    assert (a.latency.mean, a.latency.jitter) == (0.01, 0.005)
    assert a.limits == (LimitSpec("fixed_window", (("limit", 2.0), ("window", 0.5))),)
    assert a.faults == (FaultSpec("slow", 1.0, 2.0, 0.5, 0.2),)
    assert (b.error_status, b.retry_after, b.limits, b.faults) == (500, False, (), ())
    assert loaded.tier("T2") == (b,)


def test_builtin_default_has_three_tiers_of_ten() -> None:
    """The built-in default: seed 42, tiers T1/T2/T3 on ports 4000-4009, 5000-5009, 6000-6009."""
    loaded = scenario.load()
    assert "default" in scenario.builtin_names()
    assert (loaded.name, loaded.seed, loaded.source) == ("default", 42, "builtin:default")
    assert loaded.tiers() == ["T1", "T2", "T3"]
    for tier, first in (("T1", 4000), ("T2", 5000), ("T3", 6000)):
        assert [s.port for s in loaded.tier(tier)] == list(range(first, first + 10))
    assert all(s.build_limiter() is None for s in loaded.tier("T1"))
    assert all(s.limits for s in loaded.tier("T2") + loaded.tier("T3"))


def test_unknown_builtin_and_missing_file_are_scenario_errors() -> None:
    """An unknown name lists the built-ins; a missing .toml file says it cannot be read."""
    with pytest.raises(ScenarioError, match=r"^nonesuch: scenario: no such file .*built-ins: "):
        scenario.load("nonesuch")
    with pytest.raises(ScenarioError, match=r"missing\.toml: file: cannot be read"):
        scenario.load("missing.toml")


def test_load_reads_a_file_path(tmp_path: Path) -> None:
    """A path to a TOML file loads with the path as its source."""
    path = tmp_path / "tiny.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert scenario.load(path).source == str(path)


def test_non_utf8_scenario_file_is_a_scenario_error(tmp_path: Path) -> None:
    """A scenario file in Latin-1 (not UTF-8) is a ScenarioError naming the file, no traceback."""
    bad = tmp_path / "latin.toml"
    bad.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin\.toml: file: is not UTF-8 text"):
        scenario.load(bad)
