"""A WebSocket opening handshake (RFC 6455 §4.2) judged from what httptools parsed.

uvicorn hands an upgrade request to websockets by writing the request httptools
had just parsed back out as bytes, for websockets to parse again in Python
(a generator per line, a `Headers` object) and to answer with a `Headers`
response it serializes; that was about a third of what an accept cost the
server. `check` judges the parsed request itself, as websockets'
`ServerProtocol.process_request` does (with no extensions offered: the server
runs without permessage-deflate), and `switching_protocols` writes the 101.

Differences from websockets, each a refusal it would not have answered or
answered less usefully: a request with a body (websockets sent nothing and
the client waited) and one with over 128 header fields (a 431 it never
wrote) are answered; an unsupported `Sec-WebSocket-Version` gets 426 with
`Sec-WebSocket-Version: 13`, as RFC 6455 §4.4 asks, rather than 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import NamedTuple

# RFC 6455 §1.3: appended to the client's key before hashing.
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# websockets' limit (http11.MAX_NUM_HEADERS), kept.
MAX_HEADERS = 128


class Refusal(NamedTuple):
    """The handshake is refused: the status, the problem's detail, headers it adds."""

    status: int
    detail: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


class Accepted(NamedTuple):
    """A valid handshake: `Sec-WebSocket-Accept` and the subprotocols the client offers."""

    accept: bytes
    subprotocols: list[str]
    request_id: bytes | None


_NOT_UPGRADE = Refusal(
    426, "a WebSocket handshake needs Upgrade: websocket", ((b"upgrade", b"websocket"),)
)


def _tokens(values: list[bytes]) -> list[bytes]:
    """The comma-separated tokens of a list header's field values, lower case."""
    return [t.strip(b" \t").lower() for value in values for t in value.split(b",") if t.strip()]


def _just(values: list[bytes], token: bytes) -> bool:
    """One header value that is exactly `token` (any case)."""
    return len(values) == 1 and values[0].lower() == token


def check(method: str, http_version: str, headers: list[tuple[bytes, bytes]]) -> Accepted | Refusal:
    """Judge an upgrade request (header names in lower case, as uvicorn's scope has them)."""
    if method != "GET":
        return Refusal(405, "a WebSocket handshake is a GET request", ((b"allow", b"GET"),))
    if http_version != "1.1":
        return Refusal(505, "a WebSocket handshake needs HTTP/1.1")
    if len(headers) > MAX_HEADERS:
        return Refusal(431, f"a WebSocket handshake has at most {MAX_HEADERS} header fields")
    connection: list[bytes] = []
    upgrade: list[bytes] = []
    keys: list[bytes] = []
    versions: list[bytes] = []
    protocols: list[bytes] = []
    origins = 0
    request_id = None
    has_body = False
    for name, value in headers:
        if name == b"sec-websocket-key":
            keys.append(value)
        elif name == b"sec-websocket-version":
            versions.append(value)
        elif name == b"connection":
            connection.append(value)
        elif name == b"upgrade":
            upgrade.append(value)
        elif name == b"origin":
            origins += 1
        elif name == b"sec-websocket-protocol":
            protocols.append(value)
        elif name == b"x-request-id":
            request_id = value
        elif name == b"transfer-encoding" or (
            name == b"content-length" and value.strip(b" \t") != b"0"
        ):
            has_body = True
    # Most clients send one `Connection: Upgrade` and one `Upgrade: websocket`: those are
    # judged without splitting them into tokens (the same answer, no lists made).
    if not _just(connection, b"upgrade") and b"upgrade" not in _tokens(connection):
        return _NOT_UPGRADE
    if not _just(upgrade, b"websocket") and _tokens(upgrade) != [b"websocket"]:
        return _NOT_UPGRADE
    if has_body:
        return Refusal(400, "a WebSocket handshake has no body")
    if len(keys) != 1:
        return Refusal(400, "a WebSocket handshake needs one Sec-WebSocket-Key")
    key = keys[0].strip(b" \t")
    try:
        nonce = base64.b64decode(key, validate=True)
    except binascii.Error:
        nonce = b""
    if len(nonce) != 16:
        return Refusal(400, "Sec-WebSocket-Key must be 16 bytes in base64")
    if len(versions) != 1:
        return Refusal(400, "a WebSocket handshake needs one Sec-WebSocket-Version")
    if versions[0].strip(b" \t") != b"13":
        return Refusal(
            426,
            "this server speaks WebSocket version 13",
            ((b"sec-websocket-version", b"13"),),
        )
    if origins > 1:
        return Refusal(400, "a WebSocket handshake has at most one Origin")
    # SHA-1 is what RFC 6455 names here: a proof the server read the key, not a secret.
    accept = base64.b64encode(hashlib.sha1(key + _GUID, usedforsecurity=False).digest())
    # As uvicorn builds the scope's `subprotocols`.
    subprotocols = (
        [token.strip() for value in protocols for token in value.decode("latin-1").split(",")]
        if protocols
        else []
    )
    return Accepted(accept, subprotocols, request_id)


def switching_protocols(accept: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The 101 answer with `headers` (the server's defaults and the app's), whole."""
    parts = [
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: ",
        accept,
        b"\r\n",
    ]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)
