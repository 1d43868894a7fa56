from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.index import Index
from ...models.index_spec import IndexSpec
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    collection: str,
    name: str,
    *,
    body: IndexSpec,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/collections/{collection}/indexes/{name}".format(
            collection=quote(str(collection), safe=""),
            name=quote(str(name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Index | Problem | None:
    if response.status_code == 200:
        response_200 = Index.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = Index.from_dict(response.json())

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
) -> Response[Index | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    collection: str,
    name: str,
    *,
    client: AuthenticatedClient,
    body: IndexSpec,
) -> Response[Index | Problem]:
    """Create an index (built online over existing documents)

    Args:
        collection (str):
        name (str):
        body (IndexSpec):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Index | Problem]
    """

    kwargs = _get_kwargs(
        collection=collection,
        name=name,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    collection: str,
    name: str,
    *,
    client: AuthenticatedClient,
    body: IndexSpec,
) -> Index | Problem | None:
    """Create an index (built online over existing documents)

    Args:
        collection (str):
        name (str):
        body (IndexSpec):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Index | Problem
    """

    return sync_detailed(
        collection=collection,
        name=name,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    collection: str,
    name: str,
    *,
    client: AuthenticatedClient,
    body: IndexSpec,
) -> Response[Index | Problem]:
    """Create an index (built online over existing documents)

    Args:
        collection (str):
        name (str):
        body (IndexSpec):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Index | Problem]
    """

    kwargs = _get_kwargs(
        collection=collection,
        name=name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    collection: str,
    name: str,
    *,
    client: AuthenticatedClient,
    body: IndexSpec,
) -> Index | Problem | None:
    """Create an index (built online over existing documents)

    Args:
        collection (str):
        name (str):
        body (IndexSpec):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Index | Problem
    """

    return (
        await asyncio_detailed(
            collection=collection,
            name=name,
            client=client,
            body=body,
        )
    ).parsed
