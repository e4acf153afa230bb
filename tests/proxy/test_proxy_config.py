"""The proxy's config file: every mistake is one `error:` line naming file, field and rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from banditlb.cli.main import main
from banditlb.errors import ConfigError
from banditlb.game.outcome import OutcomeKind
from banditlb.proxy.config import load, parse
from banditlb.proxy.spec import Secret

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "proxy.toml"
ENV = {"KEY_A": "a", "KEY_B": "b", "KEY_C": "c"}


def upstream(**more: Any) -> dict[str, Any]:
    return {"name": "a", "url": "http://127.0.0.1:9000", **more}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "x.toml: upstreams: must be a non-empty array of [[upstreams]] tables"),
        ({"upstreams": [upstream(), upstream()]}, "upstreams[1].name: 'a' is used twice"),
        ({"upstreams": [upstream(url="ftp://h/")]}, "must start with http:// or https://"),
        ({"upstreams": [upstream(url="http://u:p@h/")]}, "must not carry credentials"),
        ({"upstreams": [upstream(url="http://h/?q=1")]}, "must not have a query or fragment"),
        ({"upstreams": [upstream(url="http://h:99999/")]}, "is not a valid URL"),
        ({"upstreams": [upstream(timeout=0)]}, "upstreams[0].timeout: must be > 0, got 0"),
        ({"upstreams": [upstream(timeout=float("nan"))]}, "must be a finite number"),
        ({"upstreams": [upstream(colour="red")]}, "upstreams[0].colour: unknown field"),
        (
            {"upstreams": [upstream(headers={"Authorization": {"env": "NOPE"}})]},
            "upstreams[0].headers.Authorization.env: environment variable NOPE is not set",
        ),
        (
            {"upstreams": [upstream(headers={"Host": "evil"})]},
            "upstreams[0].headers.Host: is set by the proxy itself and cannot be injected",
        ),
        ({"upstreams": [upstream(headers={"Bad Name": "v"})]}, "is not a valid header name"),
        ({"upstreams": [upstream(headers={"X-A": "a\r\nX-B: b"})]}, "must not contain line breaks"),
        (
            {"upstreams": [upstream(limit={"requests": 0, "window": 1.0})]},
            "upstreams[0].limit.requests: must be between 1 and 1000000000, got 0",
        ),
        (
            {"upstreams": [upstream()], "routes": [{"prefix": "v1"}]},
            "routes[0].prefix: must start with '/', got 'v1'",
        ),
        (
            {"upstreams": [upstream()], "routes": [{"attempts": 3, "max_attempts": 2}]},
            "routes[0]: max_attempts (2) must be >= free_attempts (3)",
        ),
        (
            {"upstreams": [upstream()], "routes": [{"failure": ["5xx", 429]}]},
            "routes[0].failure: 429 is also listed as rate_limited",
        ),
        (
            {"upstreams": [upstream()], "routes": [{"success": ["2xy"]}]},
            "routes[0].success: must list statuses 100..599 or classes like \"5xx\", got '2xy'",
        ),
        (
            {"upstreams": [upstream()], "routes": [{"retryable": "yes"}]},
            "routes[0].retryable: must be true or false, got 'yes'",
        ),
        (
            {"upstreams": [upstream()], "strategy": {"name": "nope"}},
            "strategy: unknown strategy 'nope'",
        ),
        (
            {"upstreams": [upstream()], "listen": {"port": 8080, "admin_port": 8080}},
            "listen.admin_port: must differ from listen.port (8080)",
        ),
    ],
)
def test_each_mistake_is_one_clear_error(doc: dict[str, Any], message: str) -> None:
    """A bad document raises ConfigError with one line that names the field and the rule."""
    with pytest.raises(ConfigError) as raised:
        parse(doc, "x.toml", {})
    text = str(raised.value)
    assert message in text
    assert text.startswith("x.toml: ")
    assert "\n" not in text


def test_the_shipped_example_validates() -> None:
    """examples/proxy.toml loads: three upstreams, keys as secrets, three routes + default."""
    config = load(EXAMPLE, ENV)
    assert [u.name for u in config.upstreams] == ["key-a", "key-b", "eu-mirror"]
    assert config.upstreams[2].prefix == "/proxy/v1"
    assert config.upstreams[0].headers == (("Authorization", Secret("Bearer a")),)
    assert [r.prefix for r in config.routes] == [
        "/v1/chat/completions",
        "/v1/files",
        "/v1/search",
        "/",
    ]
    search = config.routes[2].status
    assert search.kind(404) is OutcomeKind.ACCEPTED
    assert search.kind(408) is OutcomeKind.FAILED
    assert search.kind(400) is None


def test_default_status_rules() -> None:
    """By default 2xx/3xx succeed, 429 is rate limited, 5xx fail, other 4xx are the client's."""
    config = parse({"upstreams": [upstream()]}, "x.toml", {})
    rules = config.routes[-1].status
    assert [rules.kind(s) for s in (200, 302, 429, 503, 404, 400)] == [
        OutcomeKind.ACCEPTED,
        OutcomeKind.ACCEPTED,
        OutcomeKind.RATE_LIMITED,
        OutcomeKind.FAILED,
        None,
        None,
    ]


def test_routes_match_whole_segments_and_methods_first_match_wins() -> None:
    """/v1/chat matches /v1/chat and /v1/chat/x but not /v1/chatter; methods filter."""
    doc = {
        "upstreams": [upstream()],
        "routes": [{"prefix": "/v1/chat", "methods": ["post"]}, {"prefix": "/v1"}],
    }
    config = parse(doc, "x.toml", {})
    assert config.route_for("POST", "/v1/chat") == 0
    assert config.route_for("POST", "/v1/chat/x") == 0
    assert config.route_for("POST", "/v1/chatter") == 1
    assert config.route_for("GET", "/v1/chat") == 1
    assert config.route_for("GET", "/other") == 2


def test_cli_check_prints_a_summary_and_a_bad_file_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`proxy --check` on the example exits 0; a broken file exits 2 with one `error:` line."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as ok:
        main(["proxy", "--config", str(EXAMPLE), "--check"])
    assert ok.value.code == 0
    assert "3 upstreams, 3 routes" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[upstreams]]\nname = "a"\nurl = "gopher://x"\n')
    with pytest.raises(SystemExit) as failed:
        main(["proxy", "--config", str(bad), "--check"])
    err = capsys.readouterr().err
    assert failed.value.code == 2
    assert err.startswith(f"error: {bad}: upstreams[0].url: must start with http://")
    assert err.count("\n") == 1
    with pytest.raises(SystemExit) as missing:
        main(["proxy", "--config", str(tmp_path / "none.toml")])
    assert missing.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_the_readme_shows_the_shipped_example_verbatim() -> None:
    """README "banditlb in front of your API" embeds examples/proxy.toml unchanged."""
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    section = readme.split("## banditlb in front of your API", 1)[1]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    assert block == EXAMPLE.read_text()


def test_every_sections_mistake_is_reported_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three broken sections: three `error:` lines (file, field, rule), exit status 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[listen]\nport = "x"\n'
        '[[upstreams]]\nname = "a"\nurl = "gopher://x"\n'
        '[[upstreams]]\nname = "b"\nurl = "http://127.0.0.1:1"\n'
        '[[routes]]\nprefix = "nope"\n'
    )
    with pytest.raises(SystemExit) as failed:
        main(["proxy", "--config", str(bad), "--check"])
    lines = capsys.readouterr().err.splitlines()
    assert failed.value.code == 2
    assert lines == [
        f"error: {bad}: upstreams[0].url: must start with http:// or https://, got 'gopher://x'",
        f"error: {bad}: routes[0].prefix: must start with '/', got 'nope'",
        f"error: {bad}: listen.port: must be an integer, got 'x'",
    ]
