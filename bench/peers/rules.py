"""Issue 15's "rules on vs off": a non-admin JWT, with or without the contract's example rule.

Rules apply to every credential except `admin`, so both targets talk to the
server with the same kind of credential: an API key with read/write/delete on
the bench collection mints a JWT for `SUB` (`POST /v1/auth/token`), and the
load generator presents that JWT. `ls-rules` also saves `EXAMPLE_RULE` on the
collection before anything is written; `ls-norules` saves none. Every document
written carries `"owner": SUB`, so the rule allows each write and each read.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
from typing import TYPE_CHECKING, Any

import orjson

from bench.payload import COLLECTION, VALUE_BYTES
from bench.servers import ADMIN_TOKEN

if TYPE_CHECKING:
    from bench.peers.targets import Target

SUB = "bench-user"

# The example of the API contract's "Rules" section (docs/rules.md has it too).
EXAMPLE_RULE = {
    "read": "doc.public || doc.owner == auth.sub",
    "create": "new.owner == auth.sub",
    "update": "doc.owner == auth.sub && new.owner == doc.owner",
    "delete": "doc.owner == auth.sub",
}


def owned_value() -> bytes:
    """The 100-byte document of `bench.payload`, with `"owner": SUB` in place of some padding."""
    base = {"title": "benchmark document", "status": "open", "owner": SUB, "n": 1, "pad": ""}
    pad = VALUE_BYTES - len(orjson.dumps(base))
    value = orjson.dumps({**base, "pad": "x" * pad})
    assert len(value) == VALUE_BYTES, len(value)
    return value


OWNED_VALUE = owned_value()


def _call(port: int, method: str, path: str, body: Any, token: str) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            method,
            path,
            body=json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status not in (200, 201):
        raise RuntimeError(f"{method} {path} answered {response.status}: {data[:300]!r}")
    return json.loads(data)


def user_headers(port: int, *, with_rule: bool) -> dict[str, str]:
    """Create the key, mint the user's JWT, save the rule if asked: the load generator's headers."""
    key = _call(
        port,
        "POST",
        "/v1/keys",
        {"name": "bench-user-key", "permissions": ["read", "write", "delete"],
         "collections": [COLLECTION]},
        ADMIN_TOKEN,
    )  # fmt: skip
    jwt = _call(port, "POST", "/v1/auth/token", {"sub": SUB, "ttl_s": 3600}, key["token"])
    if with_rule:
        _call(port, "PUT", f"/v1/rules/{COLLECTION}", EXAMPLE_RULE, ADMIN_TOKEN)
    return {"Authorization": f"Bearer {jwt['token']}"}


def as_user(target: Target, port: int) -> Target:
    """`target` (one whose `principal` is "jwt") talking as the user to the server on `port`."""
    headers = user_headers(port, with_rule=target.rules)
    return dataclasses.replace(target, headers=headers)
