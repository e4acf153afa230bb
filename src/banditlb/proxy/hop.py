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


_REPLACED = frozenset(
    {b"host", b"expect", b"via", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"}
)
"""Request fields the proxy sets itself (from the client's values, where it keeps them)."""


def request_headers(
    headers: RawHeaders,
    *,
    client_host: str | None,
    scheme: str,
    via: str,
    inject: Sequence[tuple[str, str | Secret]],
) -> list[tuple[str, str]]:
    """The headers to send upstream for one client request (see the module docstring).

    `headers` are ASGI's (names in lower case). Content-Length is kept when the client sent
    one (the body is forwarded unchanged). One pass over the client's fields."""
    injected = {name.lower().encode("latin-1") for name, _ in inject}
    out: list[tuple[str, str]] = []
    chain: list[str] = []
    hops: list[str] = []
    host: bytes | None = None
    named: set[bytes] = set()  # fields the client's Connection header names
    for name, value in headers:
        if name in _REPLACED or name in HOP_BY_HOP or name in injected:
            if name == b"x-forwarded-for":
                chain.append(value.decode("latin-1"))
            elif name == b"via":
                hops.append(value.decode("latin-1"))
            elif name == b"host":
                host = value
            elif name == b"connection":
                named.update(t.strip().lower() for t in value.split(b",") if t.strip())
            continue
        if name.startswith(b"proxy-"):
            continue
        out.append((name.decode("latin-1"), value.decode("latin-1")))
    if named:
        out = [(n, v) for n, v in out if n.encode("latin-1") not in named]
    if client_host:
        chain.append(client_host)
    if chain:
        out.append(("X-Forwarded-For", ", ".join(chain)))
    out.append(("X-Forwarded-Proto", scheme))
    if host is not None:
        out.append(("X-Forwarded-Host", host.decode("latin-1")))
    hops.append(via)
    out.append(("Via", ", ".join(hops)))
    for field, text in inject:
        out.append((field, text.reveal() if isinstance(text, Secret) else text))
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
