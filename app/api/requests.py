"""`HttpRequest`: what an operation reads of an HTTP request, whoever dispatched it.

The front door (`app/server/front_door.py`) builds one from the ASGI scope; a
FastAPI route from its `Request` (`of`). Either way the operation reads the same
things the same way: headers (the first of repeated ones, as Starlette's
`Headers.get`), the query, the body, and its principal, admitted by the gate.
Cheaper than Starlette's `Request`, whose header parsing alone cost more than a
document read.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope

from app.api.deps import admit_scope
from app.api.services import Services, services_of
from app.auth.authenticator import token_from_headers
from app.auth.gate import Entry, Transport
from app.auth.principal import Principal


class HttpRequest:
    __slots__ = ("_headers", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        # The first of repeated headers wins, as in Starlette's `Headers.get`.
        self._headers: dict[bytes, bytes] = dict(reversed(scope["headers"]))

    @classmethod
    def of(cls, request: Request) -> HttpRequest:
        return cls(request.scope, request.receive)

    def header(self, name: bytes) -> str | None:
        value = self._headers.get(name)
        return None if value is None else value.decode("latin-1")

    @property
    def query(self) -> bytes:
        query: bytes = self.scope["query_string"]
        return query

    @property
    def services(self) -> Services:
        return services_of(self.scope["app"])

    async def principal(self, token: str | None = None, transport: Transport = "http") -> Principal:
        """Admitted by the gate, with `token` or else the request's credential headers."""
        if token is None:
            token = token_from_headers(self.header(b"authorization"), self.header(b"x-api-key"))
        state = self.scope.setdefault("state", {})
        origin = self.header(b"origin")
        return await admit_scope(self.services.gate, state, transport, token, origin)

    def entry(self, transport: Transport) -> Entry:
        """Where the request came from, without its credential (for `Gate.recheck`)."""
        client_ip = self.scope.get("state", {}).get("client_ip")
        return Entry(transport, None, client_ip, self.header(b"origin"))

    async def body(self) -> bytes:
        chunks = []
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)
