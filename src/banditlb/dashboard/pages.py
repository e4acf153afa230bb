"""The dashboard's HTML pages and static assets, all served from package data.

Pages are plain HTML files under `static/`; Plotly.js comes from the installed `plotly` Python
package (`plotly/package_data/plotly.min.js`), never from a CDN.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from starlette.requests import Request
from starlette.responses import FileResponse, Response

PAGES: Mapping[str, str] = MappingProxyType(
    {
        "live": "live.html",
        "compare": "compare.html",
        "playground": "playground.html",
        "replay": "replay.html",
    }
)
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


def page(name: str) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint serving one page (names come from PAGES, never from the request)."""
    filename = PAGES[name]

    async def endpoint(request: Request) -> Response:
        return _file(static_dir().joinpath(filename), "text/html; charset=utf-8")

    endpoint.__name__ = f"{name}_page"
    return endpoint


async def plotly(request: Request) -> Response:
    return _file(plotly_js(), "text/javascript; charset=utf-8", _CACHE)
