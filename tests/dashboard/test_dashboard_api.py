"""The dashboard's JSON API through the standalone app: status codes, paging, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from dashboard_doubles import EMPTY_ID, LIVE_ID, make_store

from banditlb.colours import strategy_colour
from banditlb.dashboard import create_dashboard_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def ids(tmp_path: Path) -> dict[str, str]:
    return make_store(tmp_path / "runs.db")


@pytest.fixture
async def client(tmp_path: Path, ids: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_dashboard_app(tmp_path / "runs.db")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
        yield client


async def test_runs_are_listed_newest_first(client: httpx.AsyncClient, ids: dict[str, str]) -> None:
    """GET /api/runs lists every run, newest first, without the simulator curves."""
    body = (await client.get("/api/runs")).json()
    assert [run["id"] for run in body["runs"]][-2:] == [EMPTY_ID, LIVE_ID]
    assert len(body["runs"]) == 6
    assert all("curve" not in run["totals"] for run in body["runs"])
    only = (await client.get("/api/runs", params={"source": "live", "limit": 1})).json()
    assert [run["id"] for run in only["runs"]] == [EMPTY_ID]


async def test_one_run_has_its_attempt_count(client: httpx.AsyncClient) -> None:
    """GET /api/runs/{id} is the run with its totals and number of attempts."""
    body = (await client.get(f"/api/runs/{LIVE_ID}")).json()
    assert body["attempts"] == 300
    assert body["strategy"] == "thompson"
    assert body["totals"]["requests"] == 300


async def test_unknown_and_malformed_runs(client: httpx.AsyncClient) -> None:
    """A well-formed unknown id is 404, a malformed one 400, both as JSON errors."""
    for suffix in ("", "/attempts", "/timeline"):
        missing = await client.get(f"/api/runs/20261127-201500-ffff{suffix}")
        assert missing.status_code == 404
        assert "no run 20261127-201500-ffff" in missing.json()["error"]
        bad = await client.get(f"/api/runs/..%2F..%2Fetc{suffix}")
        assert bad.status_code in (400, 404)
        assert bad.json()["error"]
    malformed = await client.get("/api/runs/not-a-run")
    assert malformed.status_code == 400
    assert "bad run id" in malformed.json()["error"]


async def test_attempts_are_paged_with_a_limit_of_1000(client: httpx.AsyncClient) -> None:
    """Pages follow offset/limit; limit over 1000, negative offsets and junk are 400."""
    page = (await client.get(f"/api/runs/{LIVE_ID}/attempts?offset=295&limit=10")).json()
    assert (page["total"], page["offset"], page["limit"]) == (300, 295, 10)
    assert [a["request_no"] for a in page["attempts"]] == [296, 297, 298, 299, 300]
    assert len((await client.get(f"/api/runs/{LIVE_ID}/attempts")).json()["attempts"]) == 100
    ok = await client.get(f"/api/runs/{LIVE_ID}/attempts?limit=1000")
    assert len(ok.json()["attempts"]) == 300
    for query in ("limit=1001", "limit=0", "offset=-1", "limit=ten", "format=xml"):
        response = await client.get(f"/api/runs/{LIVE_ID}/attempts?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]


async def test_offsets_beyond_sqlite_integers_are_400(client: httpx.AsyncClient) -> None:
    """An offset too large for SQLite is a 400 naming the range, on attempts and runs alike."""
    for path in (f"/api/runs/{LIVE_ID}/attempts", "/api/runs"):
        for offset in (2**63, 10**30):
            response = await client.get(f"{path}?offset={offset}")
            assert response.status_code == 400, (path, offset)
            assert response.json()["error"].startswith("offset must be between 0 and ")
    last = await client.get(f"/api/runs/{LIVE_ID}/attempts?offset={2**63 - 1}")
    assert (last.status_code, last.json()["attempts"]) == (200, [])


async def test_attempts_as_csv(client: httpx.AsyncClient) -> None:
    """format=csv streams the whole run (a header and one line per attempt) as a download."""
    response = await client.get(f"/api/runs/{LIVE_ID}/attempts?format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0].startswith("seq,run_id,request_no")
    assert len(lines) == 301
    paged = await client.get(f"/api/runs/{LIVE_ID}/attempts?format=csv&limit=5")
    assert len(paged.text.splitlines()) == 6


async def test_timeline_is_per_second(client: httpx.AsyncClient) -> None:
    """The timeline has one bucket per second and per-server series."""
    body = (await client.get(f"/api/runs/{LIVE_ID}/timeline")).json()
    assert body["bucket_s"] == 1.0
    assert len(body["t"]) == 30
    assert sum(body["requests"]) == 300
    assert sorted(body["servers"]) == ["s0", "s1", "s2"]
    assert body["oracle_per_s"] == pytest.approx(9.0)
    empty = (await client.get(f"/api/runs/{EMPTY_ID}/timeline")).json()
    assert empty["t"] == []


async def test_compare_groups_by_strategy_and_tier(
    client: httpx.AsyncClient, ids: dict[str, str]
) -> None:
    """Compare averages seeds per strategy and tier and marks the best; curves per run."""
    query = "&".join(f"run={ids[k]}" for k in ("thompson-0", "thompson-1", "round_robin-0"))
    body = (await client.get(f"/api/compare?{query}")).json()
    cells = {(c["strategy"], c["tier"]): c for c in body["cells"]}
    assert cells["thompson", "T1"]["score"] == 255.0
    assert cells["thompson", "T1"]["best"] is True
    assert cells["round_robin", "T1"]["best"] is False
    assert cells["round_robin", "T1"]["ci95"] is None
    assert body["curves"][0]["regret"] == pytest.approx([0.0, 20 / 3, 40 / 3, 20.0])
    assert body["colours"] == {
        "thompson": strategy_colour("thompson"),
        "round_robin": strategy_colour("round_robin"),
    }
    assert (await client.get("/api/compare")).status_code == 400
    assert (await client.get("/api/compare?run=x")).status_code == 400
    assert (await client.get("/api/compare?run=20261127-201500-ffff")).status_code == 404
    many = "&".join(["run=20261127-201500-ffff"] * 51)
    assert (await client.get(f"/api/compare?{many}")).status_code == 400


async def test_a_sweep_is_listed_and_compared_by_its_label(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    """GET /api/sweeps lists sweeps; ?sweep=LABEL is one cell per tier × strategy, no runs."""
    from banditlb.store import connect, store_sim_result

    assert (await client.get("/api/sweeps")).json() == {"sweeps": []}
    label = "sweep-20261127-220000-beef"
    conn = connect(tmp_path / "runs.db")
    for strategy, scores in (("thompson", (90.0, 94.0)), ("random", (70.0, 72.0))):
        for seed, score in enumerate(scores):
            store_sim_result(
                conn,
                strategy=strategy,
                scenario="default",
                tier="T1",
                seed=seed,
                totals={"requests": 100, "score": score, "oracle": 100.0, "penalised": 1},
                started_at=4_000.0,
                label=label,
                curve_requests=[50, 100],
                curve_score=[score / 2, score],
            )
    conn.close()
    (listed,) = (await client.get("/api/sweeps")).json()["sweeps"]
    assert listed == {
        "label": label,
        "scenario": "default",
        "runs": 4,
        "strategies": 2,
        "tiers": 1,
        "seeds": 2,
        "started": 4_000.0,
    }
    response = await client.get("/api/compare", params={"sweep": label})
    assert response.status_code == 200
    body = response.json()
    assert body["unit"] == "per request"
    assert "runs" not in body
    assert [(c["strategy"], c["best"]) for c in body["cells"]] == [
        ("thompson", True),
        ("random", False),
    ]
    assert [c["score"] for c in body["cells"]] == pytest.approx([0.92, 0.71], abs=1e-15)
    assert body["colours"] == {s: strategy_colour(s) for s in ("thompson", "random")}
    assert body["cells"][0]["pct_oracle"] == pytest.approx(92.0)
    assert [len(c["requests"]) for c in body["curves"]] == [101, 101]
    assert body["curves"][1]["regret"][-1] == pytest.approx(100.0 - 92.0)


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("sweep=sweep-20261127-220000-ffff", 404, "no sweep sweep-20261127-220000-ffff"),
        ("sweep=sweep-1%27%20OR%201%3D1", 400, "bad sweep label"),
        ("sweep=", 400, "bad sweep label"),
        ("sweep=sweep-20261127-220000-ffff&run=20261127-201500-ab12", 400, "not both"),
        ("sweep=sweep-20261127-220000-ffff&sweep=sweep-20261127-220000-fffe", 400, "not both"),
    ],
)
async def test_bad_or_unknown_sweeps_are_json_errors(
    client: httpx.AsyncClient, query: str, status: int, message: str
) -> None:
    """An unknown well-formed label is 404, a malformed one or a mixed query 400, as JSON."""
    response = await client.get(f"/api/compare?{query}")
    assert response.status_code == status
    assert message in response.json()["error"]


async def test_pages_and_plotly_are_served_locally(client: httpx.AsyncClient) -> None:
    """Every page is HTML that loads Plotly from this server, never a CDN."""
    for path in ("/dashboard", "/dashboard/compare", "/dashboard/playground", "/dashboard/replay"):
        page = await client.get(path)
        assert page.status_code == 200
        assert "/dashboard/static/vendor/plotly.min.js" in page.text
        assert "cdn" not in page.text.lower()
    plotly = await client.get("/dashboard/static/vendor/plotly.min.js")
    assert plotly.status_code == 200
    assert len(plotly.content) > 1_000_000
    assert (await client.get("/dashboard/static/playground.js")).status_code == 200
    assert (await client.get("/dashboard/static/../api.py")).status_code == 404


async def test_every_page_shares_one_head_and_nav(client: httpx.AsyncClient) -> None:
    """The pages differ in title, script and main content only: the nav links all four."""
    pages = {
        name: (await client.get(path)).text
        for name, path in (
            ("live", "/dashboard"),
            ("compare", "/dashboard/compare"),
            ("playground", "/dashboard/playground"),
            ("replay", "/dashboard/replay"),
        )
    }
    heads = set()
    for name, text in pages.items():
        head = text.split("<main>", 1)[0]
        assert f'<script src="/dashboard/static/{name}.js" defer></script>' in head
        title = head.split("<title>", 1)[1].split("</title>", 1)[0]
        heads.add(head.replace(title, "TITLE").replace(f"/{name}.js", "/PAGE.js"))
        assert text.endswith("</main>\n</body>\n</html>\n")
    assert len(heads) == 1
    links = ("/dashboard", "/dashboard/compare", "/dashboard/playground", "/dashboard/replay")
    (head,) = heads
    assert all(f'<a href="{link}">' in head for link in links)
    assert "<title>banditlb · Thompson sampling playground</title>" in pages["playground"]


async def test_standalone_app_has_no_live_events(client: httpx.AsyncClient) -> None:
    """Without a balancer, /api/events is a 404 JSON error and / goes to compare."""
    response = await client.get("/api/events")
    assert response.status_code == 404
    assert "no live balancer" in response.json()["error"]
    home = await client.get("/")
    assert home.status_code == 307
    assert home.headers["location"] == "/dashboard/compare"


async def test_the_api_is_read_only(client: httpx.AsyncClient) -> None:
    """Writes are not allowed anywhere in the API."""
    for method in ("POST", "PUT", "DELETE"):
        response = await client.request(method, f"/api/runs/{LIVE_ID}")
        assert response.status_code == 405
        assert "Method Not Allowed" in response.json()["error"]
        assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}


async def test_a_missing_database_lists_nothing(tmp_path: Path) -> None:
    """Before any run is stored, the list is empty and single runs are 404."""
    app = create_dashboard_app(tmp_path / "none.db")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
        assert (await client.get("/api/runs")).json()["runs"] == []
        assert (await client.get("/api/sweeps")).json()["sweeps"] == []
        assert (await client.get(f"/api/runs/{LIVE_ID}")).status_code == 404
    assert not (tmp_path / "none.db").exists()


async def test_a_database_of_another_version_is_503(tmp_path: Path) -> None:
    """A run file this banditlb cannot read is a 503 JSON error naming the version."""
    from banditlb.store.schema import connect, migrate

    raw = connect(tmp_path / "old.db", migrate_schema=False)
    migrate(raw, target=1)
    raw.close()
    app = create_dashboard_app(tmp_path / "old.db")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
        response = await client.get("/api/runs")
    assert response.status_code == 503
    assert "schema version 1" in response.json()["error"]


async def test_unknown_paths_are_json_404s(client: httpx.AsyncClient) -> None:
    """A path no route matches answers 404 with a JSON error naming the path."""
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "/api/nothing-here: Not Found"}


async def test_a_file_that_is_not_a_database_is_503(tmp_path: Path) -> None:
    """A run file that is not SQLite at all is a 503 JSON error, not a 500 traceback."""
    (tmp_path / "junk.db").write_text("not a database, only text " * 40)
    app = create_dashboard_app(tmp_path / "junk.db")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
        response = await client.get("/api/runs")
    assert response.status_code == 503
    assert "file is not a database" in response.json()["error"]
