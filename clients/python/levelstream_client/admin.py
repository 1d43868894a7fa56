"""Admin helpers: indexes, rules, tokens with claims (hand-written; `make sdk` keeps it).

    api = connect("http://127.0.0.1:8000", token=ADMIN_KEY)
    ensure_index(api, "tickets", "by_owner", ["owner", "status"],
                 on_progress=lambda ix: print(ix.done, "/", ix.total))
    put_rule(api, "notes", read="doc.public || doc.owner == auth.sub",
             create="new.owner == auth.sub")
    token = mint_token(app_api, "alice", claims={"role": "editor"}, ttl_s=3600).token

Each raises the typed exception of a refusal (`ValidationFailedError` for a bad
rule: its `problem` has `entry`, `offset`, `line`, `column`), also for a client
from `connect(..., raise_errors=False)`. See docs/queries.md and docs/rules.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from levelstream_client.client import AuthenticatedClient
from levelstream_client.models import Index, IssuedToken, RuleDeleted, RuleList, RuleView
from levelstream_client.queries import call

ProgressCallback = Callable[[Index], None]


def _index_path(collection: str, name: str | None = None) -> str:
    base = f"/v1/collections/{quote(collection, safe='')}/indexes"
    return base if name is None else f"{base}/{quote(name, safe='')}"


def _rule_path(glob: str) -> str:
    # `?` must travel as %3F; `*` may stay as it is.
    return f"/v1/rules/{quote(glob, safe='*')}"


# --- indexes --------------------------------------------------------------------------


def create_index(
    api: AuthenticatedClient, collection: str, name: str, fields: Sequence[str]
) -> Index:
    """Create an index (it builds online; `state` is `building` until `ready`).

    Creating an existing index with the same fields returns it; other fields: `ConflictError`.
    """
    body = call(api, "PUT", _index_path(collection, name), json={"fields": list(fields)})
    return Index.from_dict(body)


def get_index(api: AuthenticatedClient, collection: str, name: str) -> Index:
    return Index.from_dict(call(api, "GET", _index_path(collection, name)))


def list_indexes(api: AuthenticatedClient, collection: str) -> list[Index]:
    body = call(api, "GET", _index_path(collection))
    return [Index.from_dict(item) for item in body["items"]]


def delete_index(api: AuthenticatedClient, collection: str, name: str) -> None:
    call(api, "DELETE", _index_path(collection, name))


def wait_for_index(
    api: AuthenticatedClient,
    collection: str,
    name: str,
    *,
    on_progress: ProgressCallback | None = None,
    timeout: float = 300.0,
    interval: float = 0.2,
) -> Index:
    """Poll until the index is `ready`, calling `on_progress` with each state seen.

    Raises `TimeoutError` when it is not ready after `timeout` seconds (it keeps building).
    """
    deadline = time.monotonic() + timeout
    while True:
        index = get_index(api, collection, name)
        if on_progress is not None:
            on_progress(index)
        if index.state == "ready":
            return index
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"index {name!r} of {collection!r} is still building "
                f"({index.done} of {index.total}) after {timeout} s"
            )
        time.sleep(interval)


def ensure_index(
    api: AuthenticatedClient,
    collection: str,
    name: str,
    fields: Sequence[str],
    *,
    on_progress: ProgressCallback | None = None,
    timeout: float = 300.0,
) -> Index:
    """Create the index (or find it) and wait until it is ready."""
    index = create_index(api, collection, name, fields)
    if index.state == "ready":
        if on_progress is not None:
            on_progress(index)
        return index
    return wait_for_index(api, collection, name, on_progress=on_progress, timeout=timeout)


# --- rules ----------------------------------------------------------------------------


def put_rule(
    api: AuthenticatedClient,
    glob: str,
    *,
    read: str | None = None,
    create: str | None = None,
    update: str | None = None,
    delete: str | None = None,
) -> RuleView:
    """Create or replace the rule of a collection glob; an entry left out is no rule."""
    entries = {"read": read, "create": create, "update": update, "delete": delete}
    body = {entry: expr for entry, expr in entries.items() if expr is not None}
    return RuleView.from_dict(call(api, "PUT", _rule_path(glob), json=body))


def get_rule(api: AuthenticatedClient, glob: str) -> RuleView:
    return RuleView.from_dict(call(api, "GET", _rule_path(glob)))


def list_rules(api: AuthenticatedClient) -> RuleList:
    """Every rule, with the rule set's `version`."""
    return RuleList.from_dict(call(api, "GET", "/v1/rules"))


def delete_rule(api: AuthenticatedClient, glob: str) -> RuleDeleted:
    return RuleDeleted.from_dict(call(api, "DELETE", _rule_path(glob)))


# --- tokens ---------------------------------------------------------------------------


def mint_token(
    api: AuthenticatedClient,
    sub: str,
    *,
    claims: dict[str, Any] | None = None,
    ttl_s: int | None = None,
    permissions: Sequence[str] | None = None,
    collections: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
) -> IssuedToken:
    """A JWT for `sub`, never wider than the key that asks; rules see `auth.sub`, `auth.claims`.

    `claims`: your own claims (at most 4096 bytes of JSON; not the names the server sets).
    """
    body: dict[str, Any] = {"sub": sub}
    optional: dict[str, Any] = {
        "claims": claims,
        "ttl_s": ttl_s,
        "permissions": None if permissions is None else list(permissions),
        "collections": None if collections is None else list(collections),
        "channels": None if channels is None else list(channels),
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    return IssuedToken.from_dict(call(api, "POST", "/v1/auth/token", json=body))
