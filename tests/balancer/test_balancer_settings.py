"""Balancer settings: upstream lists, tier expansion, strategy parameters, validation."""

from __future__ import annotations

import pytest

from banditlb.balancer.settings import BalancerSettings, Upstream
from banditlb.cli.options import parse_params, parse_upstreams, tier_upstreams
from banditlb.errors import ConfigError, ScenarioError

ONE = (Upstream("a", "127.0.0.1", 4000),)


def test_upstreams_expand_port_ranges_in_order() -> None:
    """`host:first-last` expands to every port; entries keep their order."""
    assert parse_upstreams("127.0.0.1:4000-4002,10.0.0.2:80") == (
        Upstream("127.0.0.1:4000", "127.0.0.1", 4000),
        Upstream("127.0.0.1:4001", "127.0.0.1", 4001),
        Upstream("127.0.0.1:4002", "127.0.0.1", 4002),
        Upstream("10.0.0.2:80", "10.0.0.2", 80),
    )


def test_upstream_url_brackets_ipv6() -> None:
    """An IPv6 upstream's URL puts the host in brackets."""
    assert parse_upstreams("[::1]:8080")[0].url == "http://[::1]:8080/"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "upstreams '': empty entry; use host:port[-port],..."),
        ("a:1,,b:2", "upstreams 'a:1,,b:2': empty entry; use host:port[-port],..."),
        ("localhost", "upstream 'localhost': must be host:port or host:first-last"),
        (":80", "upstream ':80': must be host:port or host:first-last"),
        ("h:http", "upstream 'h:http': port 'http' is not a number in 1..65535"),
        ("h:4_000", "upstream 'h:4_000': port '4_000' is not a number in 1..65535"),
        (
            "h:\uff14\uff10",
            "upstream 'h:\uff14\uff10': port '\uff14\uff10' is not a number in 1..65535",
        ),
        ("h:+80", "upstream 'h:+80': port '+80' is not a number in 1..65535"),
        (
            "http://127.0.0.1:4000",
            "upstream 'http://127.0.0.1:4000': give host:port without a scheme,"
            " e.g. 127.0.0.1:4000",
        ),
        (
            "a b:80",
            "upstream 'a b:80': host 'a b' must be an IP address or a host name"
            " (ASCII letters, digits, '-' and '.')",
        ),
        ("h:0", "upstream 'h:0': port 0 must be between 1 and 65535"),
        ("h:70000", "upstream 'h:70000': port 70000 must be between 1 and 65535"),
        ("h:90-80", "upstream 'h:90-80': port range 90-80 runs backwards"),
        ("h:1-2,h:2", "upstreams 'h:1-2,h:2': h:2 is listed twice"),
    ],
)
def test_bad_upstreams_name_the_value_and_rule(text: str, message: str) -> None:
    """Malformed upstream lists raise ConfigError with the exact message."""
    with pytest.raises(ConfigError) as info:
        parse_upstreams(text)
    assert str(info.value) == message


def test_tier_expands_to_builtin_scenario_servers() -> None:
    """`--tier T1` is the default scenario's ten T1 servers, by name, in order."""
    upstreams = tier_upstreams("T1")
    assert [u.name for u in upstreams] == [f"t1-{i}" for i in range(10)]
    assert [u.port for u in upstreams] == list(range(4000, 4010))


def test_tier_port_offset_and_host() -> None:
    """The port offset shifts every tier port; the host is applied to all."""
    upstreams = tier_upstreams("T2", host="10.1.1.1", port_offset=100)
    assert upstreams[0] == Upstream("t2-0", "10.1.1.1", 5100)
    assert upstreams[-1] == Upstream("t2-9", "10.1.1.1", 5109)


def test_unknown_tier_lists_the_tiers() -> None:
    """An unknown tier is a ConfigError naming the scenario's tiers."""
    with pytest.raises(ConfigError) as info:
        tier_upstreams("T9")
    assert str(info.value) == "tier 'T9' is not in scenario 'default'; tiers: T1, T2, T3"


def test_tier_port_offset_out_of_range() -> None:
    """A port offset that pushes a port past 65535 is a ConfigError naming the server."""
    with pytest.raises(ConfigError, match=r"server t3-0: port 6000 \+ offset 60000 = 66000"):
        tier_upstreams("T3", port_offset=60000)


def test_unknown_scenario_is_scenario_error() -> None:
    """A tier from a scenario that does not exist is a ScenarioError."""
    with pytest.raises(ScenarioError):
        tier_upstreams("T1", "no-such-scenario")


def test_params_parse_pairs() -> None:
    """`k=v` pairs become a dict of strings (the registry coerces them)."""
    assert parse_params(["prior_alpha=2", " prior_beta = 3 "]) == {
        "prior_alpha": "2",
        "prior_beta": "3",
    }


def test_bad_param_pair() -> None:
    """A parameter without '=' is a ConfigError."""
    with pytest.raises(ConfigError, match="strategy parameter 'alpha' must look like name=value"):
        parse_params(["alpha"])


def test_settings_validate_strategy_and_freeze_params() -> None:
    """Settings coerce-check strategy parameters and keep them read-only."""
    settings = BalancerSettings(ONE, strategy="thompson", params={"prior_alpha": "2"})
    assert settings.summary()["params"] == {
        "prior_alpha": 2.0,
        "prior_beta": 1.0,
        "rate_limit_is_failure": True,
    }
    with pytest.raises(TypeError):
        settings.params["x"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"upstreams": ()}, "upstreams must list at least one server"),
        ({"strategy": "nope"}, "unknown strategy 'nope'"),
        (
            {"strategy": "thompson", "params": {"bogus": "1"}},
            "strategy 'thompson' has no parameter 'bogus'",
        ),
        ({"attempt_timeout": 0.0}, "--attempt-timeout must be a finite number of seconds > 0"),
        ({"request_deadline": float("inf")}, "--deadline must be a finite number"),
        ({"penalty": -1.0}, r"--penalty must be a number in \[0, 1e\+06\], got -1.0"),
        ({"max_attempts": 2}, r"max_attempts \(2\) must be >= free_attempts \(3\)"),
        ({"port": 70000}, "port must be between 0 and 65535, got 70000"),
        ({"max_in_flight": 0}, "--max-in-flight must be >= 1, got 0"),
        (
            {"upstreams": (*ONE, Upstream("a", "h", 1))},
            "upstream names must be unique; 'a' is used twice",
        ),
    ],
)
def test_bad_settings_raise_config_error(overrides: dict[str, object], message: str) -> None:
    """Each bad setting is a ConfigError naming the value and the rule."""
    values: dict[str, object] = {"upstreams": ONE, **overrides}
    with pytest.raises(ConfigError, match=message):
        BalancerSettings(**values)  # type: ignore[arg-type]
