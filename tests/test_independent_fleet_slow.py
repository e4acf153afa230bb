"""Live against the independent fleet (`../shared/referee/`, written apart from banditlb):
the planner on its t1, t2 and t3, 600 requests each, scored by that fleet's own ledger and
oracle, next to the simulator's prediction for the same scenario translated into our TOML
(built-ins `referee_t1`..`referee_t3`).

Run: `.venv/bin/python -m pytest -q -s -m slow tests/test_independent_fleet_slow.py`
(about 4 minutes). `play.sh` binds the scenario's own ports (4000-4009, 5000-5009,
6000-6009); the test skips when they are taken, as on a machine where `make run` is going.
"""

from __future__ import annotations

import json
import shutil
import socket
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from banditlb.models.oracle import oracle_bound
from banditlb.scenarios import files as scenario_files
from banditlb.sim import simulate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
REFEREE = ROOT.parent / "shared" / "referee"
SCENARIOS = ("t1", "t2", "t3")
REQUESTS = 600
SIM_SEEDS = 8


def free_port() -> int:
    """A port the OS just handed out (closed again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ports_free(ports: list[int]) -> bool:
    """Whether every port can be bound on loopback right now."""
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def play(name: str) -> dict[str, Any]:
    """One `play.sh NAME planner 600` run: the fleet's verdict as a dict."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHON": sys.executable,
        "BANDITLB": str(Path(sys.executable).parent / "banditlb"),
        "CONTROL_PORT": str(free_port()),
        "LB_PORT": str(free_port()),
    }
    done = subprocess.run(
        [str(REFEREE / "play.sh"), name, "planner", str(REQUESTS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    verdict: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return verdict


def their_oracle(path: Path) -> float:
    """The independent fleet's LP bound per request (its oracle.py, 60 s = 600 requests)."""
    done = subprocess.run(
        [sys.executable, str(REFEREE / "oracle.py"), str(path)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    bound: float = json.loads(done.stdout.strip().splitlines()[-1])["oracle"]
    return bound


def prediction(name: str, fleet: dict[str, Any]) -> str:
    """The simulator's planner on our translation: mean ± 95% half-width and % of our oracle."""
    builtin = f"referee_{name}"
    if builtin not in scenario_files.builtin_names():
        return f"no built-in {builtin} yet: no simulator prediction"
    world = scenario_files.load(builtin)
    tier = world.tiers()[0]
    specs = world.tier(tier)
    assert sorted(s.error_rate for s in specs) == sorted(
        float(s["error_rate"]) for s in fleet["servers"]
    ), f"{builtin} does not have {name}.json's error rates"
    scores = [
        simulate(world, tier, "planner", seed=seed, requests=REQUESTS).score_per_request
        for seed in range(SIM_SEEDS)
    ]
    ours = oracle_bound(world, tier, horizon=REQUESTS / world.rate).score_per_request
    mean = statistics.fmean(scores)
    spread = 2.365 * statistics.stdev(scores) / SIM_SEEDS**0.5  # t(0.975, 7 dof)
    return (
        f"simulator {mean:.3f} ± {spread:.3f} = {100 * mean / ours:.1f}% of our oracle {ours:.3f}"
    )


@pytest.mark.timeout(900)
def test_planner_live_on_the_independent_fleet() -> None:
    """t1, t2, t3 with the planner, 600 requests each: every request answered, the balancer
    never claims an id the fleet's ledger did not accept, no penalties (penalty 1), a score in
    (0, 1]; prints score, % of that fleet's oracle and the simulator's prediction."""
    if not (REFEREE / "play.sh").exists():
        pytest.skip(f"the independent fleet is not at {REFEREE} (../shared/referee)")
    if shutil.which("curl") is None:
        pytest.skip("play.sh needs curl")
    lines = []
    for name in SCENARIOS:
        path = REFEREE / "scenarios" / f"{name}.json"
        fleet = json.loads(path.read_text(encoding="utf-8"))
        if not ports_free([int(s["port"]) for s in fleet["servers"]]):
            pytest.skip(f"{name}'s ports are in use (another fleet is running)")
        verdict = play(name)
        bound = their_oracle(path)
        assert verdict["requests_sent"] == REQUESTS
        assert verdict["lb_claims_vs_referee"] == 0
        assert verdict["penalised_attempts"] == 0
        per_request = float(verdict["score_per_request"])
        assert 0 < per_request <= 1
        limited = sum(counts.get("429", 0) for counts in verdict["per_server"].values())
        share = limited / verdict["total_attempts"]
        lines.append(
            f"{name}: live {per_request:.3f}/request = {100 * per_request / bound:.1f}% of its "
            f"oracle {bound:.3f}, 429s {share:.1%} of attempts; {prediction(name, fleet)}"
        )
        print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))
