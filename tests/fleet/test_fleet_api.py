"""The Fleet Python API: addresses, offsets, errors, the foreground runner and the CLI."""

from __future__ import annotations

import os
import signal
import socket

import httpx
import pytest

from banditlb.cli.fleet_cmd import listening_table
from banditlb.cli.main import main
from banditlb.errors import ConfigError
from banditlb.fleet import Fleet
from banditlb.fleet.run import serve_until_signalled
from banditlb.models import scenario

SCENARIO = """
name = "api"

[[servers]]
name = "a"
tier = "T1"
port = 4400
error_rate = 0.0

[[servers]]
name = "b"
tier = "T2"
port = 4401
error_rate = 0.0

[[servers]]
name = "c"
tier = "T1"
port = 4402
error_rate = 0.0
"""


def tiny(text: str = SCENARIO) -> scenario.Scenario:
    return scenario.loads(text, "api.toml")


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out (free a moment ago)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def test_addresses_apply_the_port_offset_before_start() -> None:
    """Without ephemeral, addresses are scenario ports + offset; control gets the offset too."""
    fleet = Fleet(tiny(), host="127.0.0.2", control_port=3999, port_offset=1000)
    assert fleet.address("a") == ("127.0.0.2", 5400)
    assert fleet.tier_addresses("T1") == [("127.0.0.2", 5400), ("127.0.0.2", 5402)]
    assert fleet.control_url == "http://127.0.0.2:4999"
    assert fleet.names == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port_offset": 70000}, "a: port 74400 is outside 1..65535"),
        ({"control_port": 4401}, "control port 4401 is also a server port"),
        ({"fault_poll": 0.0}, "fault_poll must be > 0 seconds"),
    ],
)
def test_bad_settings_raise_config_error(kwargs: dict[str, int], message: str) -> None:
    """Out-of-range ports, a control port that clashes, a zero poll: ConfigError naming it."""
    with pytest.raises(ConfigError, match=message):
        Fleet(tiny(), **kwargs)  # type: ignore[arg-type]


def test_unknown_names_raise_config_error() -> None:
    """Unknown server or tier names raise ConfigError listing the known ones."""
    fleet = Fleet(tiny())
    with pytest.raises(ConfigError, match="unknown server 'z'; servers are a, b, c"):
        fleet.address("z")
    with pytest.raises(ConfigError, match="unknown tier 'T3'; tiers are T1, T2"):
        fleet.tier_addresses("T3")
    with pytest.raises(ConfigError, match="unknown tier 'T3'"):
        fleet.ledger("T3")


@pytest.mark.anyio
async def test_ephemeral_fleets_bind_real_ports_and_coexist() -> None:
    """Two ephemeral fleets of one scenario get distinct real ports and both answer."""
    async with Fleet(tiny(), ephemeral=True) as one, Fleet(tiny(), ephemeral=True) as two:
        ports = {one.address(n)[1] for n in one.names} | {two.address(n)[1] for n in two.names}
        assert len(ports) == 6
        assert 0 not in ports
        async with httpx.AsyncClient(timeout=5.0) as http:
            for fleet in (one, two):
                assert (await http.get(f"{fleet.control_url}/healthz")).status_code == 200
                host, port = fleet.tier_addresses("T2")[0]
                reply = await http.post(f"http://{host}:{port}/", content="x" * 24)
                assert reply.json() == {"id": "x" * 24, "server": "b"}


@pytest.mark.anyio
async def test_busy_port_raises_config_error_and_leaves_nothing_open() -> None:
    """A server port already taken: start() raises ConfigError and closes what it opened."""
    control, a, b = free_ports(3)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        text = SCENARIO.replace("4400", str(a)).replace("4401", str(b)).replace("4402", str(busy))
        fleet = Fleet(tiny(text), control_port=control)
        with pytest.raises(ConfigError, match=f"c: cannot listen on 127.0.0.1:{busy}"):
            await fleet.start()
        assert not fleet.is_up("a")
        assert not fleet.is_up("b")
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as http:
                await http.get(f"{fleet.control_url}/healthz")
        await fleet.stop()


@pytest.mark.anyio
async def test_serve_until_signalled_stops_cleanly_on_sigterm() -> None:
    """The foreground runner starts the fleet, reports it ready, and stops on SIGTERM."""
    seen: list[bool] = []

    def ready(fleet: Fleet) -> None:
        seen.append(fleet.is_up("a"))
        os.kill(os.getpid(), signal.SIGTERM)

    fleet = Fleet(tiny(), ephemeral=True)
    await serve_until_signalled(fleet, ready)
    assert seen == [True]
    assert not fleet.is_up("a")


def test_listening_table_has_one_row_per_server() -> None:
    """The CLI's table lists every server with its address."""
    table = listening_table(Fleet(tiny(), port_offset=10))
    assert table.row_count == 3
    assert list(table.columns[2].cells) == ["127.0.0.1:4410", "127.0.0.1:4411", "127.0.0.1:4412"]


@pytest.mark.parametrize(
    "argv",
    [
        ["fleet", "--scenario", "no-such-scenario"],
        ["fleet", "--port-offset", "70000"],
    ],
)
def test_cli_errors_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad scenario or offset: one error message on stderr and exit status 2."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("error:") == 1
