from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.document_page import DocumentPage
from ...models.problem import Problem
from ...models.query_plan import QueryPlan
from ...types import UNSET, Response, Unset


def _get_kwargs(
    collection: str,
    *,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    reverse: bool | Unset = False,
    cursor: None | str | Unset = UNSET,
    keys_only: bool | Unset = False,
    where: None | str | Unset = UNSET,
    order_by: None | str | Unset = UNSET,
    explain: bool | Unset = False,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

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

    json_prefix: None | str | Unset
    if isinstance(prefix, Unset):
        json_prefix = UNSET
    else:
        json_prefix = prefix
    params["prefix"] = json_prefix

    params["limit"] = limit

    params["reverse"] = reverse

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    params["keys_only"] = keys_only

    json_where: None | str | Unset
    if isinstance(where, Unset):
        json_where = UNSET
    else:
        json_where = where
    params["where"] = json_where

    json_order_by: None | str | Unset
    if isinstance(order_by, Unset):
        json_order_by = UNSET
    else:
        json_order_by = order_by
    params["order_by"] = json_order_by

    params["explain"] = explain

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/collections/{collection}/docs".format(
            collection=quote(str(collection), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DocumentPage | QueryPlan | Problem | None:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> DocumentPage | QueryPlan:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = DocumentPage.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = QueryPlan.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

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
) -> Response[DocumentPage | QueryPlan | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    collection: str,
    *,
    client: AuthenticatedClient,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    reverse: bool | Unset = False,
    cursor: None | str | Unset = UNSET,
    keys_only: bool | Unset = False,
    where: None | str | Unset = UNSET,
    order_by: None | str | Unset = UNSET,
    explain: bool | Unset = False,
) -> Response[DocumentPage | QueryPlan | Problem]:
    """Read an ordered range of documents

    Args:
        collection (str): Collection name
        gt (None | str | Unset): Keys after this one
        gte (None | str | Unset): Keys from this one
        lt (None | str | Unset): Keys before this one
        lte (None | str | Unset): Keys up to this one
        prefix (None | str | Unset): Keys starting with this
        limit (int | Unset):  Default: 100.
        reverse (bool | Unset):  Default: False.
        cursor (None | str | Unset): From next_cursor
        keys_only (bool | Unset): Envelopes without values Default: False.
        where (None | str | Unset): A CEL filter on doc, key and rev (docs/queries.md); without a
            usable index it examines at most LEVELSTREAM_MAX_SCAN documents
        order_by (None | str | Unset): A dotted field to order by (needs an index on it)
        explain (bool | Unset): The plan instead of the items: {"index", "scanned", "returned"}
            Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocumentPage | QueryPlan | Problem]
    """

    kwargs = _get_kwargs(
        collection=collection,
        gt=gt,
        gte=gte,
        lt=lt,
        lte=lte,
        prefix=prefix,
        limit=limit,
        reverse=reverse,
        cursor=cursor,
        keys_only=keys_only,
        where=where,
        order_by=order_by,
        explain=explain,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    collection: str,
    *,
    client: AuthenticatedClient,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    reverse: bool | Unset = False,
    cursor: None | str | Unset = UNSET,
    keys_only: bool | Unset = False,
    where: None | str | Unset = UNSET,
    order_by: None | str | Unset = UNSET,
    explain: bool | Unset = False,
) -> DocumentPage | QueryPlan | Problem | None:
    """Read an ordered range of documents

    Args:
        collection (str): Collection name
        gt (None | str | Unset): Keys after this one
        gte (None | str | Unset): Keys from this one
        lt (None | str | Unset): Keys before this one
        lte (None | str | Unset): Keys up to this one
        prefix (None | str | Unset): Keys starting with this
        limit (int | Unset):  Default: 100.
        reverse (bool | Unset):  Default: False.
        cursor (None | str | Unset): From next_cursor
        keys_only (bool | Unset): Envelopes without values Default: False.
        where (None | str | Unset): A CEL filter on doc, key and rev (docs/queries.md); without a
            usable index it examines at most LEVELSTREAM_MAX_SCAN documents
        order_by (None | str | Unset): A dotted field to order by (needs an index on it)
        explain (bool | Unset): The plan instead of the items: {"index", "scanned", "returned"}
            Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocumentPage | QueryPlan | Problem
    """

    return sync_detailed(
        collection=collection,
        client=client,
        gt=gt,
        gte=gte,
        lt=lt,
        lte=lte,
        prefix=prefix,
        limit=limit,
        reverse=reverse,
        cursor=cursor,
        keys_only=keys_only,
        where=where,
        order_by=order_by,
        explain=explain,
    ).parsed


async def asyncio_detailed(
    collection: str,
    *,
    client: AuthenticatedClient,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    reverse: bool | Unset = False,
    cursor: None | str | Unset = UNSET,
    keys_only: bool | Unset = False,
    where: None | str | Unset = UNSET,
    order_by: None | str | Unset = UNSET,
    explain: bool | Unset = False,
) -> Response[DocumentPage | QueryPlan | Problem]:
    """Read an ordered range of documents

    Args:
        collection (str): Collection name
        gt (None | str | Unset): Keys after this one
        gte (None | str | Unset): Keys from this one
        lt (None | str | Unset): Keys before this one
        lte (None | str | Unset): Keys up to this one
        prefix (None | str | Unset): Keys starting with this
        limit (int | Unset):  Default: 100.
        reverse (bool | Unset):  Default: False.
        cursor (None | str | Unset): From next_cursor
        keys_only (bool | Unset): Envelopes without values Default: False.
        where (None | str | Unset): A CEL filter on doc, key and rev (docs/queries.md); without a
            usable index it examines at most LEVELSTREAM_MAX_SCAN documents
        order_by (None | str | Unset): A dotted field to order by (needs an index on it)
        explain (bool | Unset): The plan instead of the items: {"index", "scanned", "returned"}
            Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocumentPage | QueryPlan | Problem]
    """

    kwargs = _get_kwargs(
        collection=collection,
        gt=gt,
        gte=gte,
        lt=lt,
        lte=lte,
        prefix=prefix,
        limit=limit,
        reverse=reverse,
        cursor=cursor,
        keys_only=keys_only,
        where=where,
        order_by=order_by,
        explain=explain,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    collection: str,
    *,
    client: AuthenticatedClient,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    limit: int | Unset = 100,
    reverse: bool | Unset = False,
    cursor: None | str | Unset = UNSET,
    keys_only: bool | Unset = False,
    where: None | str | Unset = UNSET,
    order_by: None | str | Unset = UNSET,
    explain: bool | Unset = False,
) -> DocumentPage | QueryPlan | Problem | None:
    """Read an ordered range of documents

    Args:
        collection (str): Collection name
        gt (None | str | Unset): Keys after this one
        gte (None | str | Unset): Keys from this one
        lt (None | str | Unset): Keys before this one
        lte (None | str | Unset): Keys up to this one
        prefix (None | str | Unset): Keys starting with this
        limit (int | Unset):  Default: 100.
        reverse (bool | Unset):  Default: False.
        cursor (None | str | Unset): From next_cursor
        keys_only (bool | Unset): Envelopes without values Default: False.
        where (None | str | Unset): A CEL filter on doc, key and rev (docs/queries.md); without a
            usable index it examines at most LEVELSTREAM_MAX_SCAN documents
        order_by (None | str | Unset): A dotted field to order by (needs an index on it)
        explain (bool | Unset): The plan instead of the items: {"index", "scanned", "returned"}
            Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocumentPage | QueryPlan | Problem
    """

    return (
        await asyncio_detailed(
            collection=collection,
            client=client,
            gt=gt,
            gte=gte,
            lt=lt,
            lte=lte,
            prefix=prefix,
            limit=limit,
            reverse=reverse,
            cursor=cursor,
            keys_only=keys_only,
            where=where,
            order_by=order_by,
            explain=explain,
        )
    ).parsed
