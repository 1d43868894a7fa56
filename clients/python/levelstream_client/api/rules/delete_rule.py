from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.rule_deleted import RuleDeleted
from ...types import Response


def _get_kwargs(
    glob: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/v1/rules/{glob}".format(
            glob=quote(str(glob), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | RuleDeleted | None:
    if response.status_code == 200:
        response_200 = RuleDeleted.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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
) -> Response[Problem | RuleDeleted]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    glob: str,
    *,
    client: AuthenticatedClient,
) -> Response[Problem | RuleDeleted]:
    """Delete the rule of a collection glob

    Args:
        glob (str): A collection glob (`notes`, `app1.*`); `?` must be sent as %3F

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RuleDeleted]
    """

    kwargs = _get_kwargs(
        glob=glob,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    glob: str,
    *,
    client: AuthenticatedClient,
) -> Problem | RuleDeleted | None:
    """Delete the rule of a collection glob

    Args:
        glob (str): A collection glob (`notes`, `app1.*`); `?` must be sent as %3F

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RuleDeleted
    """

    return sync_detailed(
        glob=glob,
        client=client,
    ).parsed


async def asyncio_detailed(
    glob: str,
    *,
    client: AuthenticatedClient,
) -> Response[Problem | RuleDeleted]:
    """Delete the rule of a collection glob

    Args:
        glob (str): A collection glob (`notes`, `app1.*`); `?` must be sent as %3F

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RuleDeleted]
    """

    kwargs = _get_kwargs(
        glob=glob,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    glob: str,
    *,
    client: AuthenticatedClient,
) -> Problem | RuleDeleted | None:
    """Delete the rule of a collection glob

    Args:
        glob (str): A collection glob (`notes`, `app1.*`); `?` must be sent as %3F

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RuleDeleted
    """

    return (
        await asyncio_detailed(
            glob=glob,
            client=client,
        )
    ).parsed
