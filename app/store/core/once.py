"""Remembered answers (idempotency keys), written once for both backends.

A write that carries a `Once` is looked up by its scope, (owner, key), inside
the writer, before any of its ops runs: under the writer (LevelDB) or the
global write lock (PostgreSQL) nothing else can remember that scope meanwhile,
so two requests with one key can never both write. A live record answers the
request (the stored answer, or a refusal when the request differs); none, or an
expired one, lets the transaction run, and its answer joins the group's
`Mutations` to be stored in the same atomic commit as the documents and changes.
A failing transaction is dropped whole, answer included: errors are never
remembered.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol

from app.errors import ValidationFailed

_EXPIRES = struct.Struct(">Q")
DIGEST_BYTES = 32  # a SHA-256 of the request


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """One remembered answer: until when, the request's digest, the answer's bytes."""

    expires_ms: int
    digest: bytes
    answer: bytes

    def encode(self) -> bytes:
        return _EXPIRES.pack(self.expires_ms) + self.digest + self.answer

    @classmethod
    def decode(cls, raw: bytes) -> StoredAnswer:
        (expires_ms,) = _EXPIRES.unpack_from(raw)
        head = _EXPIRES.size + DIGEST_BYTES
        return cls(int(expires_ms), bytes(raw[_EXPIRES.size : head]), bytes(raw[head:]))


@dataclass(frozen=True, slots=True)
class AnswerWrite:
    """An answer to store, and the expiry of the dead record it replaces (0: none), so
    a backend's expiry index can drop that record's entry."""

    stored: StoredAnswer
    replaced_expires_ms: int


class AnswerReader(Protocol):
    """The backend's remembered answers before the group, expired or not."""

    def answer(self, scope: bytes) -> StoredAnswer | None: ...


def scope_of(owner: str, key: str) -> bytes:
    """A record's identity: `owner 00 key`. Keys are visible ASCII (no 00), so the last
    00 always ends the owner, whatever the owner holds."""
    return owner.encode("utf-8", "surrogatepass") + b"\x00" + key.encode("ascii")


def live_answer(held: StoredAnswer | None, digest: bytes, now_ms: int) -> bytes | None:
    """The answer to replay for a request with `digest`, if a live record holds one.

    Raises ValidationFailed when the key answered another request: replaying that
    answer would tell the caller its own request was applied.
    """
    if held is None or held.expires_ms <= now_ms:
        return None
    if held.digest != digest:
        raise ValidationFailed(
            "this idempotency key was used for another request (another method, "
            "path or body) within its retention window; use a new key",
            field="idempotency_key",
        )
    return held.answer
