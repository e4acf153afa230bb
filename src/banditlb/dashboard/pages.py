"""The dashboard's HTML pages and static assets, all served from package data.

Every page is `static/layout.html` (the head, the scripts and the nav, written once) around
the inside of its `<main>` (`static/<page>.html`), with its title and its `static/<page>.js`.
Plotly.js comes from the installed `plotly` Python package (`plotly/package_data/plotly.min.js`),
never from a CDN.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from types import MappingProxyType

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

PAGES: Mapping[str, str] = MappingProxyType(
    {
        "live": "live",
        "compare": "compare",
        "playground": "Thompson sampling playground",
        "replay": "replay",
    }
)
"""Each page's name (its route, `static/<name>.html` and `static/<name>.js`) and its title."""
_CACHE: Mapping[str, str] = MappingProxyType({"Cache-Control": "public, max-age=3600"})


def static_dir() -> Traversable:
    return resources.files("banditlb.dashboard").joinpath("static")


def plotly_js() -> Traversable:
    """The minified Plotly.js bundled with the `plotly` package."""
    return resources.files("plotly").joinpath("package_data", "plotly.min.js")


def _file(ref: Traversable, media_type: str, headers: Mapping[str, str] | None = None) -> Response:
    if isinstance(ref, Path):
        return FileResponse(ref, media_type=media_type, headers=headers)
    return Response(ref.read_bytes(), media_type=media_type, headers=headers)


def render(name: str) -> str:
    """Page `name` in full: the layout with its title, script and main content."""
    static = static_dir()
    layout = Template(static.joinpath("layout.html").read_text(encoding="utf-8"))
    main = static.joinpath(f"{name}.html").read_text(encoding="utf-8")
    return layout.substitute(title=PAGES[name], script=f"{name}.js", main=main.rstrip("\n"))


def page(name: str) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint serving one page (names come from PAGES, never from the request)."""
    if name not in PAGES:
        raise KeyError(name)

    async def endpoint(request: Request) -> Response:
        return HTMLResponse(render(name))

    endpoint.__name__ = f"{name}_page"
    return endpoint


async def plotly(request: Request) -> Response:
    return _file(plotly_js(), "text/javascript; charset=utf-8", _CACHE)
