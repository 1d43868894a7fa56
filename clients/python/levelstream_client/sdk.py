"""`connect()`: a generated `AuthenticatedClient` that raises typed exceptions (hand-written).

The generated operations (`levelstream_client.api.*`) return the parsed body,
or a `Problem` for a documented error status. A client from `connect()` raises
the matching `levelstream_client.exceptions` class instead, for every 4xx/5xx,
in both the sync and the async calls:

    api = connect("http://127.0.0.1:8000", token="lsk_...")
    try:
        put_document.sync("tickets", "t-1", client=api, body=value, if_match='"1042"')
    except PreconditionFailedError as exc:
        ...  # someone else wrote first: exc.current_rev

`token` may be a callable returning a fresh token (asked before each request),
for short-lived JWTs.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import httpx

from levelstream_client.client import AuthenticatedClient
from levelstream_client.exceptions import araise_for_problem, raise_for_problem

TokenSource = str | Callable[[], str]


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>`, with the token asked for on each request."""

    def __init__(self, token: TokenSource) -> None:
        self._token = token

    def token(self) -> str:
        return self._token() if callable(self._token) else self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        yield request


def connect(
    base_url: str,
    token: TokenSource,
    *,
    timeout: float = 30.0,
    raise_errors: bool = True,
    headers: dict[str, str] | None = None,
    **httpx_args: Any,
) -> AuthenticatedClient:
    """A client for the generated operations; `raise_errors=False` returns `Problem`s instead."""
    auth = BearerAuth(token)
    initial = auth.token()
    common: dict[str, Any] = {
        "base_url": base_url,
        "timeout": httpx.Timeout(timeout),
        "headers": headers or {},
        "auth": auth,
        **httpx_args,
    }
    sync_hooks = {"response": [raise_for_problem]} if raise_errors else {}
    async_hooks = {"response": [araise_for_problem]} if raise_errors else {}
    client = AuthenticatedClient(base_url=base_url, token=initial, raise_on_unexpected_status=True)
    client.set_httpx_client(httpx.Client(event_hooks=sync_hooks, **common))
    client.set_async_httpx_client(httpx.AsyncClient(event_hooks=async_hooks, **common))
    return client
