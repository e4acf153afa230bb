"""A client for the fleet's control endpoint: reset a tier's ledger, read its score."""

from __future__ import annotations

from typing import Any

import aiohttp

from banditlb.errors import BanditLBError


class RefereeError(BanditLBError):
    """The referee could not be reached or refused a request."""


class RefereeClient:
    """`POST {base}/reset?tier=T` and `GET {base}/score?tier=T&penalty=P`."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")

    async def _call(self, method: str, path: str, params: dict[str, str]) -> Any:
        url = f"{self.base_url}{path}"
        try:
            async with self._session.request(method, url, params=params) as response:
                payload = await response.json(content_type=None)
                if response.status != 200:
                    raise RefereeError(
                        f"referee {method} {url} answered {response.status}: {payload}"
                    )
                return payload
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RefereeError(
                f"referee at {self.base_url} failed on {method} {path}: {exc}"
            ) from None

    async def reset(self, tier: str) -> None:
        """Clear the tier's ledger so the score counts this run only."""
        await self._call("POST", "/reset", {"tier": tier})

    async def score(self, tier: str, penalty: float) -> dict[str, Any]:
        """The tier's score: accepted, penalised_attempts, score, ids, attempts, servers, ..."""
        payload: dict[str, Any] = await self._call(
            "GET", "/score", {"tier": tier, "penalty": repr(penalty)}
        )
        return payload
