from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    collection: None | str | Unset = UNSET,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    snapshot: bool | Unset = False,
    where: None | str | Unset = UNSET,
    epoch: None | str | Unset = UNSET,
    channel: None | str | Unset = UNSET,
    token: None | str | Unset = UNSET,
    ticket: None | str | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["last-event-id"] = last_event_id

    params: dict[str, Any] = {}

    json_collection: None | str | Unset
    if isinstance(collection, Unset):
        json_collection = UNSET
    else:
        json_collection = collection
    params["collection"] = json_collection

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

    params["snapshot"] = snapshot

    json_where: None | str | Unset
    if isinstance(where, Unset):
        json_where = UNSET
    else:
        json_where = where
    params["where"] = json_where

    json_epoch: None | str | Unset
    if isinstance(epoch, Unset):
        json_epoch = UNSET
    else:
        json_epoch = epoch
    params["epoch"] = json_epoch

    json_channel: None | str | Unset
    if isinstance(channel, Unset):
        json_channel = UNSET
    else:
        json_channel = channel
    params["channel"] = json_channel

    json_token: None | str | Unset
    if isinstance(token, Unset):
        json_token = UNSET
    else:
        json_token = token
    params["token"] = json_token

    json_ticket: None | str | Unset
    if isinstance(ticket, Unset):
        json_ticket = UNSET
    else:
        json_ticket = ticket
    params["ticket"] = json_ticket

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/stream",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem | None:
    if response.status_code == 200:
        response_200 = response.json()
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
) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    collection: None | str | Unset = UNSET,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    snapshot: bool | Unset = False,
    where: None | str | Unset = UNSET,
    epoch: None | str | Unset = UNSET,
    channel: None | str | Unset = UNSET,
    token: None | str | Unset = UNSET,
    ticket: None | str | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> Response[Any | Problem]:
    """Subscribe to changes (and channel messages) as Server-Sent Events

    Args:
        collection (None | str | Unset): A collection, or * for all
        key (None | str | Unset):
        prefix (None | str | Unset):
        gt (None | str | Unset):
        gte (None | str | Unset):
        lt (None | str | Unset):
        lte (None | str | Unset):
        since (int | None | Unset):
        snapshot (bool | Unset):  Default: False.
        where (None | str | Unset): A CEL filter on doc, key and rev: enter/leave events
            (docs/queries.md)
        epoch (None | str | Unset): The epoch the cursor came from
        channel (None | str | Unset): Also receive this channel
        token (None | str | Unset): A credential, for browsers (EventSource cannot set headers)
        ticket (None | str | Unset): A single-use ticket from POST /v1/auth/ticket
        last_event_id (None | str | Unset): Resume after this seq

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
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
        snapshot=snapshot,
        where=where,
        epoch=epoch,
        channel=channel,
        token=token,
        ticket=ticket,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    collection: None | str | Unset = UNSET,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    snapshot: bool | Unset = False,
    where: None | str | Unset = UNSET,
    epoch: None | str | Unset = UNSET,
    channel: None | str | Unset = UNSET,
    token: None | str | Unset = UNSET,
    ticket: None | str | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> Any | Problem | None:
    """Subscribe to changes (and channel messages) as Server-Sent Events

    Args:
        collection (None | str | Unset): A collection, or * for all
        key (None | str | Unset):
        prefix (None | str | Unset):
        gt (None | str | Unset):
        gte (None | str | Unset):
        lt (None | str | Unset):
        lte (None | str | Unset):
        since (int | None | Unset):
        snapshot (bool | Unset):  Default: False.
        where (None | str | Unset): A CEL filter on doc, key and rev: enter/leave events
            (docs/queries.md)
        epoch (None | str | Unset): The epoch the cursor came from
        channel (None | str | Unset): Also receive this channel
        token (None | str | Unset): A credential, for browsers (EventSource cannot set headers)
        ticket (None | str | Unset): A single-use ticket from POST /v1/auth/ticket
        last_event_id (None | str | Unset): Resume after this seq

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
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
        snapshot=snapshot,
        where=where,
        epoch=epoch,
        channel=channel,
        token=token,
        ticket=ticket,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    collection: None | str | Unset = UNSET,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    snapshot: bool | Unset = False,
    where: None | str | Unset = UNSET,
    epoch: None | str | Unset = UNSET,
    channel: None | str | Unset = UNSET,
    token: None | str | Unset = UNSET,
    ticket: None | str | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> Response[Any | Problem]:
    """Subscribe to changes (and channel messages) as Server-Sent Events

    Args:
        collection (None | str | Unset): A collection, or * for all
        key (None | str | Unset):
        prefix (None | str | Unset):
        gt (None | str | Unset):
        gte (None | str | Unset):
        lt (None | str | Unset):
        lte (None | str | Unset):
        since (int | None | Unset):
        snapshot (bool | Unset):  Default: False.
        where (None | str | Unset): A CEL filter on doc, key and rev: enter/leave events
            (docs/queries.md)
        epoch (None | str | Unset): The epoch the cursor came from
        channel (None | str | Unset): Also receive this channel
        token (None | str | Unset): A credential, for browsers (EventSource cannot set headers)
        ticket (None | str | Unset): A single-use ticket from POST /v1/auth/ticket
        last_event_id (None | str | Unset): Resume after this seq

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
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
        snapshot=snapshot,
        where=where,
        epoch=epoch,
        channel=channel,
        token=token,
        ticket=ticket,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    collection: None | str | Unset = UNSET,
    key: None | str | Unset = UNSET,
    prefix: None | str | Unset = UNSET,
    gt: None | str | Unset = UNSET,
    gte: None | str | Unset = UNSET,
    lt: None | str | Unset = UNSET,
    lte: None | str | Unset = UNSET,
    since: int | None | Unset = UNSET,
    snapshot: bool | Unset = False,
    where: None | str | Unset = UNSET,
    epoch: None | str | Unset = UNSET,
    channel: None | str | Unset = UNSET,
    token: None | str | Unset = UNSET,
    ticket: None | str | Unset = UNSET,
    last_event_id: None | str | Unset = UNSET,
) -> Any | Problem | None:
    """Subscribe to changes (and channel messages) as Server-Sent Events

    Args:
        collection (None | str | Unset): A collection, or * for all
        key (None | str | Unset):
        prefix (None | str | Unset):
        gt (None | str | Unset):
        gte (None | str | Unset):
        lt (None | str | Unset):
        lte (None | str | Unset):
        since (int | None | Unset):
        snapshot (bool | Unset):  Default: False.
        where (None | str | Unset): A CEL filter on doc, key and rev: enter/leave events
            (docs/queries.md)
        epoch (None | str | Unset): The epoch the cursor came from
        channel (None | str | Unset): Also receive this channel
        token (None | str | Unset): A credential, for browsers (EventSource cannot set headers)
        ticket (None | str | Unset): A single-use ticket from POST /v1/auth/ticket
        last_event_id (None | str | Unset): Resume after this seq

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
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
            snapshot=snapshot,
            where=where,
            epoch=epoch,
            channel=channel,
            token=token,
            ticket=ticket,
            last_event_id=last_event_id,
        )
    ).parsed
