from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.envelope import Envelope
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    collection: str,
    *,
    body: Any,
    ttl_s: float | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    params: dict[str, Any] = {}

    json_ttl_s: float | None | Unset
    if isinstance(ttl_s, Unset):
        json_ttl_s = UNSET
    else:
        json_ttl_s = ttl_s
    params["ttl_s"] = json_ttl_s

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/collections/{collection}/docs".format(
            collection=quote(str(collection), safe=""),
        ),
        "params": params,
    }

    _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Envelope | Problem | None:
    if response.status_code == 201:
        response_201 = Envelope.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

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
) -> Response[Envelope | Problem]:
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
    body: Any,
    ttl_s: float | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Envelope | Problem]:
    """Create a document with a server-chosen, time-ordered key

    Args:
        collection (str): Collection name
        ttl_s (float | None | Unset): Delete the document after this many seconds
        idempotency_key (str | Unset):
        body (Any): Any JSON value except null

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | Problem]
    """

    kwargs = _get_kwargs(
        collection=collection,
        body=body,
        ttl_s=ttl_s,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    collection: str,
    *,
    client: AuthenticatedClient,
    body: Any,
    ttl_s: float | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Envelope | Problem | None:
    """Create a document with a server-chosen, time-ordered key

    Args:
        collection (str): Collection name
        ttl_s (float | None | Unset): Delete the document after this many seconds
        idempotency_key (str | Unset):
        body (Any): Any JSON value except null

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | Problem
    """

    return sync_detailed(
        collection=collection,
        client=client,
        body=body,
        ttl_s=ttl_s,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    collection: str,
    *,
    client: AuthenticatedClient,
    body: Any,
    ttl_s: float | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Envelope | Problem]:
    """Create a document with a server-chosen, time-ordered key

    Args:
        collection (str): Collection name
        ttl_s (float | None | Unset): Delete the document after this many seconds
        idempotency_key (str | Unset):
        body (Any): Any JSON value except null

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Envelope | Problem]
    """

    kwargs = _get_kwargs(
        collection=collection,
        body=body,
        ttl_s=ttl_s,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    collection: str,
    *,
    client: AuthenticatedClient,
    body: Any,
    ttl_s: float | None | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Envelope | Problem | None:
    """Create a document with a server-chosen, time-ordered key

    Args:
        collection (str): Collection name
        ttl_s (float | None | Unset): Delete the document after this many seconds
        idempotency_key (str | Unset):
        body (Any): Any JSON value except null

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Envelope | Problem
    """

    return (
        await asyncio_detailed(
            collection=collection,
            client=client,
            body=body,
            ttl_s=ttl_s,
            idempotency_key=idempotency_key,
        )
    ).parsed
