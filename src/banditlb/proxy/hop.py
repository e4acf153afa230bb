"""Header rewriting at the proxy's two edges, as RFC 9110 asks of an intermediary.

- Hop-by-hop fields (§7.6.1) are the connection's, not the message's: `Connection` and every
  field it names, `Keep-Alive`, `TE`, `Transfer-Encoding`, `Upgrade`, `Proxy-*` (and the older
  `Proxy-Connection`) are dropped in both directions. The proxy frames each side itself.
- Requests gain `X-Forwarded-For` (the client's address after any the client sent),
  `X-Forwarded-Proto` and `X-Forwarded-Host` (the client's `Host`), and `Via` (§7.6.3: the
  hops so far, then ours, which is also how loops are detected, `balancer/loops.py`). `Host`
  becomes the upstream's (the client library sets it from the URL). `Expect: 100-continue`
  is answered by the proxy's own server when the body is read, so it is not passed on.
  Headers the config injects for the chosen upstream replace the client's of the same name
  (a client cannot choose the key).
- Answers gain our `Via` hop too, and `X-Banditlb-Upstream` / `X-Banditlb-Attempts` say which
  upstream answered and after how many attempts.
Names are compared in lower case; raw ASGI headers are bytes (latin-1), as they came.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from banditlb.proxy.spec import Secret

RawHeaders = Sequence[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-connection",
    }
)
"""Always dropped (`Trailer` too: the proxy does not forward trailers); `proxy-*` as well."""


def _connection_tokens(headers: RawHeaders) -> set[bytes]:
    """Field names a `Connection` header lists (those are hop-by-hop for this message)."""
    names: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            names.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return names


def end_to_end(headers: RawHeaders, also_drop: Iterable[bytes] = ()) -> list[tuple[bytes, bytes]]:
    """`headers` without hop-by-hop fields (and without the lower-case names in `also_drop`)."""
    drop = _connection_tokens(headers) | HOP_BY_HOP | set(also_drop)
    return [
        (name, value)
        for name, value in headers
        if (lower := name.lower()) not in drop and not lower.startswith(b"proxy-")
    ]


def request_headers(
    headers: RawHeaders,
    *,
    client_host: str | None,
    scheme: str,
    via: str,
    inject: Sequence[tuple[str, str | Secret]],
) -> list[tuple[str, str]]:
    """The headers to send upstream for one client request (see the module docstring).

    Content-Length is kept when the client sent one (the body is forwarded unchanged)."""
    injected = {name.lower().encode("latin-1") for name, _ in inject}
    kept = end_to_end(
        headers,
        (
            b"host",
            b"expect",
            b"via",
            b"x-forwarded-for",
            b"x-forwarded-proto",
            b"x-forwarded-host",
            *injected,
        ),
    )
    out = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in kept]
    forwarded_for = [v for n, v in headers if n.lower() == b"x-forwarded-for"]
    hops = [v for n, v in headers if n.lower() == b"via"]
    host = next((v for n, v in headers if n.lower() == b"host"), None)
    chain = [v.decode("latin-1") for v in forwarded_for]
    if client_host:
        chain.append(client_host)
    if chain:
        out.append(("X-Forwarded-For", ", ".join(chain)))
    out.append(("X-Forwarded-Proto", scheme))
    if host is not None:
        out.append(("X-Forwarded-Host", host.decode("latin-1")))
    out.append(("Via", ", ".join([*(v.decode("latin-1") for v in hops), via])))
    for name, value in inject:
        out.append((name, value.reveal() if isinstance(value, Secret) else value))
    return out


def response_headers(
    headers: RawHeaders, *, via: str, upstream: str, attempts: int
) -> list[tuple[bytes, bytes]]:
    """The upstream answer's headers for the client: end-to-end ones, our Via hop, and which
    upstream answered after how many attempts."""
    out = end_to_end(headers, (b"via",))
    hops = [v for n, v in headers if n.lower() == b"via"]
    out.append((b"via", b", ".join([*hops, via.encode("latin-1")])))
    out.append((b"x-banditlb-upstream", upstream.encode("latin-1")))
    out.append((b"x-banditlb-attempts", b"%d" % attempts))
    return out
