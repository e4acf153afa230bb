"""The dashboard in a real browser (Debian's Chromium via Playwright) against loopback servers.

Screenshots go to artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_doubles import LIVE_ID, make_store
from playwright.sync_api import Browser, Page, sync_playwright

from banditlb.colours import strategy_colour
from banditlb.dashboard import create_dashboard_app, dashboard_routes

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]


class LoopThread:
    """An asyncio loop in a thread running `main(ready, stop)`; `ready` receives the base URL."""

    def __init__(self, main: Callable[[Callable[[str], None], asyncio.Event], Any]) -> None:
        self._main = main
        self._url: str | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def body() -> None:
            self._stop = asyncio.Event()
            await self._main(self._publish, self._stop)

        try:
            self._loop.run_until_complete(body())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
        finally:
            self._ready.set()
            self._loop.close()

    def _publish(self, url: str) -> None:
        self._url = url
        self._ready.set()

    def __enter__(self) -> str:
        self._thread.start()
        self._ready.wait(60)
        if self._url is None:
            raise RuntimeError(f"server did not start: {self._error!r}")
        return self._url

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        if self._error is not None:
            raise self._error


def serve(app: Any) -> LoopThread:
    from banditlb.balancer.serving import serve_in_background

    async def main(ready: Callable[[str], None], stop: asyncio.Event) -> None:
        async with serve_in_background(app) as url:
            ready(url)
            await stop.wait()

    return LoopThread(main)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    context.close()
    assert errors == [], errors


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    path = tmp_path_factory.mktemp("dash") / "runs.db"
    ids = make_store(path)
    with serve(create_dashboard_app(path)) as url:
        yield url, ids


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def test_playground_autoplay_favours_the_best_arm(
    page: Page, stored: tuple[str, dict[str, str]]
) -> None:
    """Seeded Thompson sampling in the browser ends up picking the highest true rate most."""
    url, _ = stored
    page.goto(f"{url}/dashboard/playground")
    page.wait_for_function("window.playground && window.playground.rates.length === 5")
    page.select_option("#arms", "3")
    page.evaluate("window.playground.reset(3, 7, [0.2, 0.5, 0.8])")
    page.click("#success-0")
    page.click("#failure-1")
    assert page.evaluate("[window.playground.alpha[0], window.playground.beta[1]]") == [2, 2]
    page.click("#round")
    assert page.evaluate("window.playground.rounds") == 1
    page.select_option("#speed", "25")
    page.click("#autoplay")
    page.wait_for_function("window.playground.rounds >= 500", timeout=30_000)
    page.click("#autoplay")
    picks = page.evaluate("window.playground.picks")
    assert len(picks) == 3
    assert picks.index(max(picks)) == 2
    assert page.evaluate("window.playground.mostPicked()") == 2
    assert page.evaluate("document.getElementById('chart-beliefs').data.length") == 3
    shot(page, "playground")


def test_compare_renders_stored_runs(page: Page, stored: tuple[str, dict[str, str]]) -> None:
    """Picking stored runs fills the strategy × tier table, the bars and one curve per run."""
    url, ids = stored
    page.goto(f"{url}/dashboard/compare")
    page.wait_for_selector("#runs tbody tr")
    assert page.locator("#runs tbody tr").count() == 6
    for key in ("thompson-0", "thompson-1", "round_robin-0", "round_robin-1", "live"):
        page.check(f"#runs input[value='{ids[key]}']")
    page.click("#compare")
    page.wait_for_function("window.compareView.rendered")
    best = page.locator("#matrix td.best").all_inner_texts()
    query = page.url.split("?", 1)[1]
    cells = httpx.get(f"{url}/api/compare?{query}").json()["cells"]
    top = next(c for c in cells if c["best"])
    assert top["strategy"] == "thompson"
    assert best == [
        f"★ {top['score']:.1f} ± {top['ci95']:.1f} ({top['pct_oracle']:.1f}%, 2.0 pen, n=3)"
    ]
    assert page.evaluate("document.getElementById('chart-scores').data.length") == 2
    assert page.evaluate("document.getElementById('chart-curves').data.length") == 5
    assert axis_titles(page, "chart-curves") == ["requests", "regret (points)"]
    assert axis_titles(page, "chart-scores") == ["mean score"]
    colours = httpx.get(f"{url}/api/compare?{query}").json()["colours"]
    bars = page.evaluate(
        "document.getElementById('chart-scores').data.map((t) => [t.name, t.marker.color])"
    )
    assert bars == [[name, strategy_colour(name)] for name in sorted(colours)]
    lines = page.evaluate("document.getElementById('chart-curves').data.map((t) => t.line.color)")
    assert set(lines) == {strategy_colour("thompson"), strategy_colour("round_robin")}
    assert "run=" in page.url
    with page.expect_download() as download:
        page.click("[data-png='chart-scores']")
    assert download.value.suggested_filename == "banditlb-chart-scores.png"
    shot(page, "compare")


def axis_titles(page: Page, chart: str) -> list[str]:
    """The axis titles Plotly drew for `chart` (x first), as rendered text in the page."""
    titles: list[str] = page.evaluate(
        f"Array.from(document.querySelectorAll('#{chart} .g-xtitle, #{chart} .g-ytitle'))"
        ".map((node) => node.textContent).filter((text) => text)"
    )
    return titles


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real `banditlb sim` sweep (2 strategies × 2 tiers × 3 seeds × 300 requests, attempts
    kept) stored in its own database, served by the standalone dashboard."""
    from banditlb.cli.main import main

    folder = tmp_path_factory.mktemp("sweep")
    db = folder / "runs.db"
    argv = ["sim", "--strategies", "thompson,round_robin", "--tiers", "T1,T2", "--seeds", "3",
            "--requests", "300", "--jobs", "1", "--out", str(folder / "out"), "--db", str(db),
            "--store-attempts"]  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    with serve(create_dashboard_app(db)) as url:
        yield url, db


def test_compare_renders_a_whole_sweep(page: Page, swept: tuple[str, Path]) -> None:
    """Picking a stored sweep gives one row per strategy per tier, the best of each tier marked,
    bars per strategy and one averaged regret curve per strategy and tier."""
    url, _ = swept
    page.goto(f"{url}/dashboard/compare")
    page.wait_for_selector("#sweep option", state="attached")
    (sweep,) = httpx.get(f"{url}/api/sweeps").json()["sweeps"]
    assert (sweep["runs"], sweep["strategies"], sweep["tiers"], sweep["seeds"]) == (12, 2, 2, 3)
    page.select_option("#sweep", sweep["label"])
    page.click("#compare-sweep")
    page.wait_for_function("window.compareView.rendered")
    rows = page.locator("#matrix tbody tr")
    assert rows.count() == 4
    table = [[cell.strip() for cell in row.split("\t")] for row in rows.all_inner_texts()]
    assert sorted((r[0], r[1].removeprefix("★ ")) for r in table) == [
        ("T1", "round_robin"),
        ("T1", "thompson"),
        ("T2", "round_robin"),
        ("T2", "thompson"),
    ]
    cells = httpx.get(f"{url}/api/compare", params={"sweep": sweep["label"]}).json()["cells"]
    best = sorted((c["tier"], c["strategy"]) for c in cells if c["best"])
    assert sorted(tuple(r[:2]) for r in table if r[1].startswith("★ ")) == [
        (tier, f"★ {strategy}") for tier, strategy in best
    ]
    assert page.locator("#matrix tbody tr.best").count() == len(best) == 2
    top = (table[0][0], table[0][1].removeprefix("★ "))
    first = next(c for c in cells if (c["tier"], c["strategy"]) == top)
    assert first["best"]  # the best of the first tier comes first
    assert table[0][2:5] == [
        f"{first['score']:.3f}",
        f"± {first['ci95']:.3f}",
        f"{first['pct_oracle']:.1f}%",
    ]
    assert page.evaluate("document.getElementById('chart-scores').data.length") == 2
    assert page.evaluate("document.getElementById('chart-curves').data.length") == 4
    assert "sweep=" + sweep["label"] in page.url
    shot(page, "compare-sweep")
    page.select_option("#curve-tier", "T2")
    assert page.evaluate("document.getElementById('chart-curves').data.length") == 2


def test_replay_plays_a_simulated_run(page: Page, swept: tuple[str, Path]) -> None:
    """A run stored with --store-attempts replays on its virtual clock, to its last request."""
    url, _ = swept
    run = httpx.get(f"{url}/api/runs", params={"limit": 1}).json()["runs"][0]
    page.goto(f"{url}/dashboard/replay?run={run['id']}")
    page.wait_for_function("window.replay.timeline && window.replay.frames > 0")
    assert page.inner_text("#tile-requests") == "300"
    assert int(page.get_attribute("#slider", "max") or "0") > 0
    assert page.is_hidden("#message")


def test_replay_steps_through_a_stored_run(page: Page, stored: tuple[str, dict[str, str]]) -> None:
    """The slider moves through the run's seconds; play advances it; tiles follow."""
    url, _ = stored
    page.goto(f"{url}/dashboard/replay?run={LIVE_ID}")
    page.wait_for_function("window.replay.timeline && window.replay.frames > 0")
    assert page.get_attribute("#slider", "max") == "29"
    assert page.inner_text("#tile-requests") == "300"
    page.evaluate("window.replay.seek(9)")
    assert page.inner_text("#tile-requests") == "100"
    assert page.evaluate("document.getElementById('chart-posteriors').data.length") == 3
    page.select_option("#speed", "100")
    page.click("#play")
    page.wait_for_function("window.replay.index > 9")
    page.wait_for_function("!window.replay.playing", timeout=20_000)
    assert page.evaluate("window.replay.index") == 29
    shot(page, "replay")


def test_live_page_without_a_balancer_says_so(
    page: Page, stored: tuple[str, dict[str, str]]
) -> None:
    """The standalone dashboard's live page explains that only stored runs are served."""
    url, _ = stored
    page.goto(f"{url}/dashboard")
    notice = page.wait_for_selector("#no-live:not(.hidden)")
    assert notice is not None
    assert "serves stored runs only" in notice.inner_text()


def test_live_page_follows_a_real_balancer(page: Page, tmp_path: Path) -> None:
    """Against the balancer and a fleet under load: one posterior per server, updating."""
    from banditlb.balancer.app import create_app, state_document
    from banditlb.balancer.serving import serve_in_background
    from banditlb.balancer.settings import BalancerSettings, Upstream
    from banditlb.fleet import Fleet
    from banditlb.models.oracle import oracle_bound
    from banditlb.scenarios import files as scenario_files
    from banditlb.store import SqliteRecorder, connect_readonly, count_attempts, list_runs, live_run

    scenario = scenario_files.load("default")
    tier = [server for server in scenario.servers if server.tier == "T1"]
    db = tmp_path / "runs.db"
    bound = oracle_bound(scenario, "T1").score_per_request

    async def main(ready: Callable[[str], None], stop: asyncio.Event) -> None:
        async with Fleet(scenario, ephemeral=True) as fleet:
            upstreams = tuple(Upstream(s.name, *fleet.address(s.name)) for s in tier)
            settings = BalancerSettings(
                upstreams, strategy="thompson", tier="T1", scenario="default", seed=1
            )
            recorder = SqliteRecorder(db, run=live_run(settings.summary()))
            dashboard = dashboard_routes(
                db, state_document, oracle_per_request=bound, stream_seconds=2
            )
            app = create_app(settings, recorder=recorder, extra_routes=dashboard)
            async with serve_in_background(app) as url, httpx.AsyncClient(base_url=url) as client:
                ready(url)
                n = 0
                while not stop.is_set():
                    n += 1
                    with contextlib.suppress(httpx.HTTPError):
                        await client.post("/", content=f"{n:024d}".encode())
                    await asyncio.sleep(0.005)

    with LoopThread(main) as url:
        page.goto(f"{url}/dashboard")
        page.wait_for_function("window.live && window.live.events >= 2", timeout=20_000)
        curves = "document.getElementById('chart-posteriors').data"
        assert page.evaluate(f"{curves}.length") == len(tier)
        before = page.evaluate(f"{curves}.map((t) => t.y.reduce((a, b) => a + b, 0))")
        page.wait_for_function("window.live.events >= 4", timeout=20_000)
        after = page.evaluate(f"{curves}.map((t) => t.y.reduce((a, b) => a + b, 0))")
        assert before != after
        assert page.evaluate(f"{curves}.length") == len(tier)
        rate = "document.getElementById('chart-rate').data[1].y.filter((y) => y !== null)"
        assert page.evaluate(f"{rate}.length") >= 2
        requests = int(page.inner_text("#tile-requests").replace(",", ""))
        assert requests > 0
        assert page.evaluate("document.getElementById('chart-latency').data.length") == 1
        assert page.locator("#server-table tbody tr").count() == len(tier)
        shot(page, "live")
        page.close()

    reader = connect_readonly(db)  # the recorder flushed every attempt at shutdown
    (run,) = list_runs(reader)
    assert (run.source, run.strategy, run.scenario, run.tier) == (
        "live",
        "thompson",
        "default",
        "T1",
    )
    assert run.ended_at is not None
    assert count_attempts(reader, run_id=run.id) == run.totals["attempts"] > 0
    reader.close()


def test_live_page_shows_the_cluster_and_a_redis_outage(page: Page) -> None:
    """A replica sharing state shows its cluster card: the replicas with their traffic share
    and the shared budget per server; with Redis killed it says it serves on local state."""
    from banditlb.balancer.app import create_app, state_document
    from banditlb.balancer.serving import serve_in_background
    from banditlb.balancer.settings import BalancerSettings, Upstream
    from banditlb.fleet import Fleet
    from banditlb.scenarios import files as scenario_files
    from banditlb.shared_state import SharedState, SharedStateConfig
    from banditlb.shared_state.local_redis import LocalRedis, redis_server_path

    if redis_server_path() is None:
        pytest.skip("redis-server not installed (make test installs Debian's as root)")
    scenario = scenario_files.load("default")
    tier = [server for server in scenario.servers if server.tier == "T2"]

    async def main(ready: Callable[[str], None], stop: asyncio.Event) -> None:
        async with Fleet(scenario, ephemeral=True) as fleet:
            upstreams = tuple(Upstream(s.name, *fleet.address(s.name)) for s in tier)
            settings = BalancerSettings(upstreams, seed=1)
            config = SharedStateConfig(redis.url, cluster="browser", retry_interval=0.1)
            shared = SharedState(config, info={"label": "replica-a"})
            dashboard = dashboard_routes(None, state_document, stream_seconds=2)
            app = create_app(settings, extra_routes=dashboard, shared=shared)
            async with serve_in_background(app) as url, httpx.AsyncClient(base_url=url) as client:
                ready(url)
                n = 0
                while not stop.is_set():
                    n += 1
                    with contextlib.suppress(httpx.HTTPError):
                        await client.post("/", content=f"{n:024d}".encode())
                    await asyncio.sleep(0.1)

    with LocalRedis() as redis, LoopThread(main) as url:
        page.goto(f"{url}/dashboard")
        page.wait_for_selector("#cluster:not(.hidden)", timeout=20_000)
        page.wait_for_function(
            "document.querySelector('#replica-table tbody').innerText.includes('replica-a')",
            timeout=20_000,
        )
        assert "shared state" in page.inner_text("#cluster-mode")
        assert page.locator("#budget-table tbody tr").count() == len(tier)
        assert "100.0%" in page.inner_text("#replica-table tbody")
        redis.kill()
        page.wait_for_function(
            "document.getElementById('cluster-mode').innerText.includes('LOCAL STATE')",
            timeout=20_000,
        )
        shot(page, "live-cluster")
