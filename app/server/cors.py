"""CORS with Starlette's middleware, for a set of origins that grows with API keys.

Allowed: `LEVELSTREAM_ALLOWED_ORIGINS` plus every key's `allowed_origins`
(a preflight carries no credential, so it cannot know which key will follow).
The actual request is judged with its credential when it is admitted
(`app/auth/gate.py`: an origin only keys allow admits only those keys); a request
refused there (403 with `auth_error` "forbidden" in its scope) gets no CORS
headers, so the page that sent it cannot read the answer either.
Credentials mode is never enabled (tokens travel in headers, not cookies),
and `*` is refused at start-up.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-API-Key",
    "X-Request-ID",
    "If-Match",
    "If-None-Match",
    "Last-Event-ID",
]
EXPOSE_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "X-Request-ID",
    "X-Levelstream-Epoch",
    "X-Levelstream-Seq",
]


class DynamicCORS(CORSMiddleware):
    def __init__(
        self, app: ASGIApp, *, static_origins: list[str], key_origins: Callable[[], set[str]]
    ) -> None:
        if "*" in static_origins or "null" in static_origins:
            raise ValueError(
                "LEVELSTREAM_ALLOWED_ORIGINS must list origins; * and null are refused"
            )
        super().__init__(
            app,
            allow_origins=static_origins,
            allow_methods=["GET", "PUT", "PATCH", "POST", "DELETE"],
            allow_headers=ALLOW_HEADERS,
            allow_credentials=False,
            expose_headers=EXPOSE_HEADERS,
            max_age=600,
        )
        self._static = {o.lower() for o in static_origins}
        self._key_origins = key_origins

    def is_allowed_origin(self, origin: str) -> bool:
        origin = origin.lower()
        return origin in self._static or origin in self._key_origins()

    async def simple_response(
        self, scope: Scope, receive: Receive, send: Send, request_headers: Headers
    ) -> None:
        async def send_judged(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and scope.get("state", {}).get("auth_error") == "forbidden"
            ):
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
                await send(message)
                return
            await self.send(message, send=send, request_headers=request_headers)

        await self.app(scope, receive, send_judged)
