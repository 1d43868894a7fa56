from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.published import Published
from ...types import UNSET, Response, Unset


def _get_kwargs(
    channel: str,
    *,
    body: Any,
    as_self: bool | Unset = False,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    params["as_self"] = as_self

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/channels/{channel}/messages".format(
            channel=quote(str(channel), safe=""),
        ),
        "params": params,
    }

    _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | Published | None:
    if response.status_code == 202:
        response_202 = Published.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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
) -> Response[Problem | Published]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    channel: str,
    *,
    client: AuthenticatedClient,
    body: Any,
    as_self: bool | Unset = False,
) -> Response[Problem | Published]:
    """Publish an ephemeral message to a channel's subscribers

    Args:
        channel (str): Channel name
        as_self (bool | Unset): Name the publisher in the message's `from` (`key:<id>`,
            `jwt:<sub>`); by default `from` is an opaque id that names no credential. Default: False.
        body (Any): Any JSON

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Published]
    """

    kwargs = _get_kwargs(
        channel=channel,
        body=body,
        as_self=as_self,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    channel: str,
    *,
    client: AuthenticatedClient,
    body: Any,
    as_self: bool | Unset = False,
) -> Problem | Published | None:
    """Publish an ephemeral message to a channel's subscribers

    Args:
        channel (str): Channel name
        as_self (bool | Unset): Name the publisher in the message's `from` (`key:<id>`,
            `jwt:<sub>`); by default `from` is an opaque id that names no credential. Default: False.
        body (Any): Any JSON

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Published
    """

    return sync_detailed(
        channel=channel,
        client=client,
        body=body,
        as_self=as_self,
    ).parsed


async def asyncio_detailed(
    channel: str,
    *,
    client: AuthenticatedClient,
    body: Any,
    as_self: bool | Unset = False,
) -> Response[Problem | Published]:
    """Publish an ephemeral message to a channel's subscribers

    Args:
        channel (str): Channel name
        as_self (bool | Unset): Name the publisher in the message's `from` (`key:<id>`,
            `jwt:<sub>`); by default `from` is an opaque id that names no credential. Default: False.
        body (Any): Any JSON

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Published]
    """

    kwargs = _get_kwargs(
        channel=channel,
        body=body,
        as_self=as_self,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    channel: str,
    *,
    client: AuthenticatedClient,
    body: Any,
    as_self: bool | Unset = False,
) -> Problem | Published | None:
    """Publish an ephemeral message to a channel's subscribers

    Args:
        channel (str): Channel name
        as_self (bool | Unset): Name the publisher in the message's `from` (`key:<id>`,
            `jwt:<sub>`); by default `from` is an opaque id that names no credential. Default: False.
        body (Any): Any JSON

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Published
    """

    return (
        await asyncio_detailed(
            channel=channel,
            client=client,
            body=body,
            as_self=as_self,
        )
    ).parsed
