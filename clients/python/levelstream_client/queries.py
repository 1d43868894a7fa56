"""Filtered range reads: `where`, `order_by`, `explain` (hand-written; `make sdk` keeps it).

`query()` follows `next_cursor` for you and yields each document, so a filtered
read is one loop whatever the page sizes (a page may be short, even empty, and
still have a cursor: the server stops a page when its scan budget runs out):

    api = connect("http://127.0.0.1:8000", token="lsk_...")
    for doc in query(api, "tickets", where='doc.owner == "u42"', order_by="updated"):
        print(doc.key, doc.value)

    plan = explain(api, "tickets", where='doc.owner == "u42"')
    plan.index, plan.scanned, plan.returned, plan.needs_index

`changes()` polls the change log (long-poll with `wait`) with the same `where` as a
live subscription, as typed `Change`s (`kind`: enter, update, leave, delete):

    page = changes(api, "tickets", since=seq, where='doc.owner == "u42"', wait=25)
    seq = page.last_seq

A refused filter raises `ValidationFailedError` (its `problem` has `offset`,
`line`, `column`; a read that needs an index: `needs_index`), also for a client
from `connect(..., raise_errors=False)`. The language: docs/queries.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from levelstream_client.client import AuthenticatedClient
from levelstream_client.exceptions import error_from_response
from levelstream_client.models import DocumentPage, Envelope
from levelstream_client.realtime_types import Change


@dataclass(frozen=True)
class Explain:
    """The plan of one page (`explain=true`): the index walked (None: by key) and its cost."""

    index: str | None
    scanned: int
    returned: int
    needs_index: list[str] | None = None


def call(
    api: AuthenticatedClient,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
) -> Any:
    """One request on the client's connection; a 4xx/5xx raises its typed exception."""
    response = api.get_httpx_client().request(method, path, params=params, json=json)
    if response.status_code >= 400:
        response.read()
        raise error_from_response(response)
    return response.json() if response.content else None


def _range_params(
    where: str | None,
    order_by: str | None,
    reverse: bool,
    bounds: dict[str, str | None],
    limit: int | None,
    keys_only: bool,
) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in bounds.items() if v is not None}
    if where is not None:
        params["where"] = where
    if order_by is not None:
        params["order_by"] = order_by
    if reverse:
        params["reverse"] = "true"
    if limit is not None:
        params["limit"] = limit
    if keys_only:
        params["keys_only"] = "true"
    return params


def _docs_path(collection: str) -> str:
    return f"/v1/collections/{quote(collection, safe='')}/docs"


def query_pages(
    api: AuthenticatedClient,
    collection: str,
    *,
    where: str | None = None,
    order_by: str | None = None,
    reverse: bool = False,
    prefix: str | None = None,
    gt: str | None = None,
    gte: str | None = None,
    lt: str | None = None,
    lte: str | None = None,
    limit: int | None = None,
    keys_only: bool = False,
    cursor: str | None = None,
) -> Iterator[DocumentPage]:
    """Every page of a range read, from `cursor` (None: the start) until `next_cursor` is null."""
    bounds = {"prefix": prefix, "gt": gt, "gte": gte, "lt": lt, "lte": lte}
    params = _range_params(where, order_by, reverse, bounds, limit, keys_only)
    while True:
        asked = params if cursor is None else {**params, "cursor": cursor}
        page = DocumentPage.from_dict(call(api, "GET", _docs_path(collection), params=asked))
        yield page
        cursor = page.next_cursor
        if cursor is None:
            return


def query(
    api: AuthenticatedClient,
    collection: str,
    *,
    where: str | None = None,
    order_by: str | None = None,
    reverse: bool = False,
    prefix: str | None = None,
    gt: str | None = None,
    lt: str | None = None,
    gte: str | None = None,
    lte: str | None = None,
    limit: int | None = None,
    keys_only: bool = False,
) -> Iterator[Envelope]:
    """Each document of a (filtered, ordered) range read, following cursors; `limit` is per page."""
    for page in query_pages(
        api,
        collection,
        where=where,
        order_by=order_by,
        reverse=reverse,
        prefix=prefix,
        gt=gt,
        gte=gte,
        lt=lt,
        lte=lte,
        limit=limit,
        keys_only=keys_only,
    ):
        yield from page.items


def explain(
    api: AuthenticatedClient,
    collection: str,
    *,
    where: str | None = None,
    order_by: str | None = None,
    reverse: bool = False,
    prefix: str | None = None,
    gt: str | None = None,
    gte: str | None = None,
    lt: str | None = None,
    lte: str | None = None,
    limit: int | None = None,
) -> Explain:
    """The plan of the first page of this read and what it cost, instead of its items."""
    bounds = {"prefix": prefix, "gt": gt, "gte": gte, "lt": lt, "lte": lte}
    params = _range_params(where, order_by, reverse, bounds, limit, False)
    body = call(api, "GET", _docs_path(collection), params={**params, "explain": "true"})
    needs = body.get("needs_index")
    return Explain(
        index=body.get("index"),
        scanned=int(body["scanned"]),
        returned=int(body["returned"]),
        needs_index=[str(f) for f in needs] if isinstance(needs, list) else None,
    )


@dataclass(frozen=True)
class ChangePage:
    """Changes after `since` in seq order; pass `last_seq` as the next `since`."""

    changes: list[Change]
    last_seq: int
    head_seq: int
    epoch: str


def _changes_params(
    collection: str, since: int | None, where: str | None, wait: float, limit: int | None
) -> dict[str, Any]:
    given: dict[str, Any] = {
        "collection": collection,
        "since": since,
        "where": where,
        "limit": limit,
    }
    params = {name: value for name, value in given.items() if value is not None}
    if wait:
        params["wait"] = wait
    return params


def _change_page(body: dict[str, Any]) -> ChangePage:
    return ChangePage(
        changes=[Change.from_json(item) for item in body["changes"]],
        last_seq=int(body["last_seq"]),
        head_seq=int(body["head_seq"]),
        epoch=str(body["epoch"]),
    )


def changes(
    api: AuthenticatedClient,
    collection: str,
    *,
    since: int | None = None,
    where: str | None = None,
    wait: float = 0.0,
    limit: int | None = None,
) -> ChangePage:
    """One poll of `GET /v1/changes` (`wait` > 0: long-poll up to that many seconds).

    With a `where` (or a read rule) each change says what it does to the matching set,
    exactly as on a live subscription, and resuming from any `last_seq` gives exactly
    the missed events. A `since` older than the log raises `HistoryCompactedError`.
    """
    params = _changes_params(collection, since, where, wait, limit)
    timeout = api.get_httpx_client().timeout.read or 0.0
    response = api.get_httpx_client().get("/v1/changes", params=params, timeout=timeout + wait)
    if response.status_code >= 400:
        raise error_from_response(response)
    return _change_page(response.json())


async def changes_async(
    api: AuthenticatedClient,
    collection: str,
    *,
    since: int | None = None,
    where: str | None = None,
    wait: float = 0.0,
    limit: int | None = None,
) -> ChangePage:
    """`changes()` on the client's async connection."""
    params = _changes_params(collection, since, where, wait, limit)
    client = api.get_async_httpx_client()
    timeout = client.timeout.read or 0.0
    response = await client.get("/v1/changes", params=params, timeout=timeout + wait)
    if response.status_code >= 400:
        await response.aread()
        raise error_from_response(response)
    return _change_page(response.json())
