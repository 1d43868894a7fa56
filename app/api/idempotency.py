"""Idempotency keys: a write retried with the same key is applied once and answered alike.

REST writes and `POST /v1/batch` take an `Idempotency-Key` header, the WebSocket
write ops an `idempotency_key` member; all of them reach `doc_ops.commit_answer`,
which builds the `Once` from what is here. The store remembers (owner, key) with
the answer in the same atomic commit as the write and looks the key up inside its
writer, before anything is written (`app.store.core.once`): a retry replays the
first answer, byte for byte; a key reused for another request is a 422. A retry
while the first is still under way on this node is a 409 (`KeyInFlight`); on
another node of a cluster it waits its turn at the write lock and replays.

The request's digest is taken over the parsed ops (method and target, value or
patch, conditions, TTL) and the way in, so a retry that re-encodes the same JSON
still matches, and a key first used over REST is refused over the WebSocket
(the two answers have different shapes) rather than applied twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from starlette.responses import Response

from app.auth.principal import Principal
from app.errors import Conflict, ValidationFailed
from app.store.types import WriteOp

HEADER = b"idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
# The header's value and the WebSocket member alike: 1-255 visible ASCII characters.
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")
InFlight = set[tuple[str, str]]

# The OpenAPI description: one reusable header parameter every write route refers to.
PARAMETER_NAME = "IdempotencyKey"
PARAMETER_REF = {"$ref": f"#/components/parameters/{PARAMETER_NAME}"}
PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Apply this write at most once: a retry with the same key (same credential) "
        "within the retention window (LEVELSTREAM_IDEMPOTENCY_TTL_S, default 24 h) gets "
        "the first answer again, byte for byte, with `Idempotent-Replayed: true`, and "
        "writes nothing. The same key with another request: 422; while the first is "
        "still in progress: 409. Error answers are not remembered."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


@dataclass(frozen=True, slots=True)
class Idempotent:
    """A write's idempotency key, how it came in, and how long to remember its answer."""

    key: str
    way: str  # "http PUT", "ws batch", ...: part of the digest
    ttl_ms: int
    in_flight: InFlight  # this node's keys under way (`Services.in_flight`)


def requested(
    value: object, name: str, way: str, ttl_s: float, in_flight: InFlight
) -> Idempotent | None:
    """The idempotency key a request carries (`name` is what it is called there), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not KEY_RE.fullmatch(value):
        raise ValidationFailed(f"{name} must be 1 to 255 visible ASCII characters", field=name)
    return Idempotent(value, way, max(int(ttl_s * 1000), 1), in_flight)


def owner_of(principal: Principal) -> str:
    """Whose keys these are: the credential's identity (an API key's id, a JWT's sub)."""
    return f"{principal.kind}:{principal.id}"


def digest(way: str, ops: list[WriteOp]) -> bytes:
    """What identifies a request under its key (the guards are the server's, not it)."""
    shape = [
        [
            op.op,
            op.collection,
            op.key,
            None if op.value_json is None else orjson.Fragment(op.value_json),
            op.patch,
            op.if_rev,
            op.if_absent,
            op.if_exists,
            op.ttl_ms,
        ]
        for op in ops
    ]
    return hashlib.sha256(orjson.dumps([way, shape])).digest()


@contextmanager
def under_way(idem: Idempotent, owner: str) -> Iterator[None]:
    """Hold the key while its write is under way here; a second holder gets 409."""
    held = (owner, idem.key)
    if held in idem.in_flight:
        raise Conflict(
            "a request with this idempotency key is still in progress; retry later",
            retry_after=1,
        )
    idem.in_flight.add(held)
    try:
        yield
    finally:
        idem.in_flight.discard(held)


# --- an HTTP answer as remembered bytes ---------------------------------------------------


def encode_response(response: Response) -> bytes:
    """`status \\n headers-JSON \\n body`: what a replay gives back (Content-Length is
    computed again)."""
    headers = [
        [name.decode("latin-1"), value.decode("latin-1")]
        for name, value in response.raw_headers
        if name != b"content-length"
    ]
    return b"%d\n%s\n%s" % (response.status_code, orjson.dumps(headers), bytes(response.body))


def decode_response(answer: bytes, replayed: bool) -> Response:
    status, headers, body = answer.split(b"\n", 2)
    response = Response(body, status_code=int(status))
    raw = response.raw_headers
    for name, value in orjson.loads(headers):
        raw.append((name.encode("latin-1"), value.encode("latin-1")))
    if replayed:
        raw.append((REPLAYED_HEADER.lower().encode("ascii"), b"true"))
    return response
