"""The command line's strings into the balancer's values: upstream lists, tiers, parameters.

`--upstreams 127.0.0.1:4000-4009,10.0.0.2:80` lists servers (a port range expands in order);
`--tier T1` takes the tier's servers from a scenario (the built-in default unless told);
`--param name=value` is one strategy parameter. Every error is a `ConfigError` naming the bad
value and the rule.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from banditlb.balancer.settings import Upstream
from banditlb.errors import ConfigError
from banditlb.models.spec import Scenario
from banditlb.scenarios import files as scenario_files

_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")


def _host(text: str, entry: str) -> str:
    """An IP address or a plain host name; a URL (`http://...`) or anything else is refused."""
    if "://" in entry:
        raise ConfigError(
            f"upstream {entry!r}: give host:port without a scheme, e.g. 127.0.0.1:4000"
        )
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if not (text.isascii() and _HOSTNAME.fullmatch(text)):
        raise ConfigError(
            f"upstream {entry!r}: host {text!r} must be an IP address or a host name"
            " (ASCII letters, digits, '-' and '.')"
        )
    return text


def _port(text: str, entry: str) -> int:
    # int() would also take "4_000" and non-ASCII digits ("４０００"): only ASCII digits pass.
    if not (text.isascii() and text.isdigit() and len(text) <= 5):
        raise ConfigError(f"upstream {entry!r}: port {text!r} is not a number in 1..65535")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ConfigError(f"upstream {entry!r}: port {port} must be between 1 and 65535")
    return port


def parse_upstreams(text: str) -> tuple[Upstream, ...]:
    """Parse `host:port[-port],...` into upstreams named `host:port`, in the order given."""
    upstreams: list[Upstream] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            raise ConfigError(f"upstreams {text!r}: empty entry; use host:port[-port],...")
        host, sep, ports = entry.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not ports:
            raise ConfigError(f"upstream {entry!r}: must be host:port or host:first-last")
        host = _host(host, entry)
        first_text, dash, last_text = ports.partition("-")
        first = _port(first_text, entry)
        last = _port(last_text, entry) if dash else first
        if last < first:
            raise ConfigError(f"upstream {entry!r}: port range {first}-{last} runs backwards")
        upstreams.extend(Upstream(f"{host}:{p}", host, p) for p in range(first, last + 1))
    seen: set[str] = set()
    for upstream in upstreams:
        if upstream.name in seen:
            raise ConfigError(f"upstreams {text!r}: {upstream.name} is listed twice")
        seen.add(upstream.name)
    return tuple(upstreams)


def tier_upstreams(
    tier: str,
    scenario: Scenario | str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port_offset: int = 0,
) -> tuple[Upstream, ...]:
    """The servers of `tier` in a scenario (built-in default unless named), ports shifted."""
    loaded = scenario if isinstance(scenario, Scenario) else scenario_files.load(scenario)
    servers = loaded.tier(tier)
    if not servers:
        raise ConfigError(
            f"tier {tier!r} is not in scenario {loaded.name!r}; tiers: {', '.join(loaded.tiers())}"
        )
    upstreams = []
    for server in servers:
        port = server.port + port_offset
        if not 1 <= port <= 65535:
            raise ConfigError(
                f"server {server.name}: port {server.port} + offset {port_offset} = {port} "
                "is outside 1..65535"
            )
        upstreams.append(Upstream(server.name, host, port))
    return tuple(upstreams)


def parse_params(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["k=v", ...]` into a dict; the strategy registry coerces the values."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"strategy parameter {pair!r} must look like name=value")
        params[key.strip()] = value.strip()
    return params
