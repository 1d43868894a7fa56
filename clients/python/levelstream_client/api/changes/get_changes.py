from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.changes_page import ChangesPage
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    collection: str,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    limit: int | Unset = 100,
    wait: float | Unset = 0.0,
    where: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["collection"] = collection

    json_key: None | str | Unset
    if isinstance(key, Unset):
        json_key = UNSET
    else:
        json_key = key
    params["key"] = json_key

    json_prefix: None | str | Unset
    if isinstance(prefix, Unset):
        json_prefix = UNSET
    else:
        json_prefix = prefix
    params["prefix"] = json_prefix

    json_gt: None | str | Unset
    if isinstance(gt, Unset):
        json_gt = UNSET
    else:
        json_gt = gt
    params["gt"] = json_gt

    json_gte: None | str | Unset
    if isinstance(gte, Unset):
        json_gte = UNSET
    else:
        json_gte = gte
    params["gte"] = json_gte

    json_lt: None | str | Unset
    if isinstance(lt, Unset):
        json_lt = UNSET
    else:
        json_lt = lt
    params["lt"] = json_lt

    json_lte: None | str | Unset
    if isinstance(lte, Unset):
        json_lte = UNSET
    else:
        json_lte = lte
    params["lte"] = json_lte

    json_since: int | None | Unset
    if isinstance(since, Unset):
        json_since = UNSET
    else:
        json_since = since
    params["since"] = json_since

    params["limit"] = limit

    params["wait"] = wait

    json_where: None | str | Unset
    if isinstance(where, Unset):
        json_where = UNSET
    else:
        json_where = where
    params["where"] = json_where

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/changes",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ChangesPage | Problem | None:
    if response.status_code == 200:
        response_200 = ChangesPage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 410:
        response_410 = Problem.from_dict(response.json())

        return response_410

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ChangesPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    collection: str,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    limit: int | Unset = 100,
    wait: float | Unset = 0.0,
    where: None | str | Unset = UNSET,
) -> Response[ChangesPage | Problem]:
    """Read changes after a seq (long-poll with wait)

    Args:
        collection (str): A collection, or * for all readable
        key (None | str | Unset):
        prefix (None | str | Unset):
        gt (None | str | Unset):
        gte (None | str | Unset):
        lt (None | str | Unset):
        lte (None | str | Unset):
        since (int | None | Unset): Deliver changes with seq > since
        limit (int | Unset):  Default: 100.
        wait (float | Unset): Long-poll: seconds to wait for a change Default: 0.0.
        where (None | str | Unset): A CEL filter on doc, key and rev: enter/leave events
            (docs/queries.md)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ChangesPage | Problem]
    """

    kwargs = _get_kwargs(
        collection=collection,
        key=key,
        prefix=prefix,
        gt=gt,
        gte=gte,
        lt=lt,
        lte=lte,
        since=since,
        limit=limit,
        wait=wait,
        where=where,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    collection: str,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    limit: int | Unset = 100,
    wait: float | Unset = 0.0,
    where: None | str | Unset = UNSET,
) -> ChangesPage | Problem | None:
    """Read changes after a seq (long-poll with wait)

    Args:
        collection (str): A collection, or * for all readable
        key (None | str | Unset):
        prefix (None | str | Unset):
        gt (None | str | Unset):
        gte (None | str | Unset):
        lt (None | str | Unset):
        lte (None | str | Unset):
        since (int | None | Unset): Deliver changes with seq > since
        limit (int | Unset):  Default: 100.
        wait (float | Unset): Long-poll: seconds to wait for a change Default: 0.0.
        where (None | str | Unset): A CEL filter on doc, key and rev: enter/leave events
            (docs/queries.md)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ChangesPage | Problem
    """

    return sync_detailed(
        client=client,
        collection=collection,
        key=key,
        prefix=prefix,
        gt=gt,
        gte=gte,
        lt=lt,
        lte=lte,
        since=since,
        limit=limit,
        wait=wait,
        where=where,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    collection: str,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    limit: int | Unset = 100,
    wait: float | Unset = 0.0,
    where: None | str | Unset = UNSET,
) -> Response[ChangesPage | Problem]:
    """Read changes after a seq (long-poll with wait)

    Args:
        collection (str): A collection, or * for all readable
        key (None | str | Unset):
        prefix (None | str | Unset):
        gt (None | str | Unset):
        gte (None | str | Unset):
        lt (None | str | Unset):
        lte (None | str | Unset):
        since (int | None | Unset): Deliver changes with seq > since
        limit (int | Unset):  Default: 100.
        wait (float | Unset): Long-poll: seconds to wait for a change Default: 0.0.
        where (None | str | Unset): A CEL filter on doc, key and rev: enter/leave events
            (docs/queries.md)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ChangesPage | Problem]
    """

    kwargs = _get_kwargs(
        collection=collection,
        key=key,
        prefix=prefix,
        gt=gt,
        gte=gte,
        lt=lt,
        lte=lte,
        since=since,
        limit=limit,
        wait=wait,
        where=where,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    collection: str,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    limit: int | Unset = 100,
    wait: float | Unset = 0.0,
    where: None | str | Unset = UNSET,
) -> ChangesPage | Problem | None:
    """Read changes after a seq (long-poll with wait)

    Args:
        collection (str): A collection, or * for all readable
        key (None | str | Unset):
        prefix (None | str | Unset):
        gt (None | str | Unset):
        gte (None | str | Unset):
        lt (None | str | Unset):
        lte (None | str | Unset):
        since (int | None | Unset): Deliver changes with seq > since
        limit (int | Unset):  Default: 100.
        wait (float | Unset): Long-poll: seconds to wait for a change Default: 0.0.
        where (None | str | Unset): A CEL filter on doc, key and rev: enter/leave events
            (docs/queries.md)

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ChangesPage | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            collection=collection,
            key=key,
            prefix=prefix,
            gt=gt,
            gte=gte,
            lt=lt,
            lte=lte,
            since=since,
            limit=limit,
            wait=wait,
            where=where,
        )
    ).parsed
