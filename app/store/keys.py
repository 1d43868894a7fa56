"""Names and keys: what a collection or channel name and a document key may be.

Checked once, before any store sees them, for both backends. (How LevelDB lays
keys out on disk is `app.store.leveldb.layout`.)
"""

from __future__ import annotations

import re

from app.errors import ValidationFailed

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
MAX_KEY_BYTES = 512
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def validate_name(name: str, what: str = "collection") -> str:
    """A collection or channel name: `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`."""
    if not isinstance(name, str) or NAME_RE.fullmatch(name) is None:
        raise ValidationFailed(
            f"{what} name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{{0,63}}$", field=what
        )
    return name


def validate_key(key: str, what: str = "key") -> bytes:
    """A document key: 1..512 bytes of UTF-8, no control characters. Returns its bytes."""
    if not isinstance(key, str) or not key:
        raise ValidationFailed(f"{what} must be a non-empty string", field=what)
    if _CONTROL_RE.search(key):
        raise ValidationFailed(f"{what} must not contain control characters", field=what)
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed(f"{what} must be valid UTF-8", field=what) from None
    if len(raw) > MAX_KEY_BYTES:
        raise ValidationFailed(f"{what} must be at most {MAX_KEY_BYTES} bytes of UTF-8", field=what)
    return raw


def increment(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with `prefix`."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
