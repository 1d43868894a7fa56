"""CORS: what every answer to a browser says, for both ways a request is served.

Which origins are allowed is the gate's judgement (`Gate.origin_listed`:
`LEVELSTREAM_ALLOWED_ORIGINS` plus every key's `allowed_origins`; a preflight
carries no credential, so it cannot know which key will follow). The actual
request is judged with its credential when it is admitted (`app/auth/gate.py`:
an origin only keys allow admits only those keys); a request refused there
(403 with `auth_error` "forbidden" in its scope) gets no CORS headers, so the
page that sent it cannot read the answer either. Every other answer to an
allowed origin, problems refused before the request was routed included, can
be read by the page that asked.

`CorsPolicy` is applied by `RequestContext` (app/server/context.py) to what
FastAPI answers and by the front door to what it answers, so both give the same
headers. The answers are Starlette's CORS middleware's: its preflight response
is used as it is, and `stamp` adds the headers its middleware adds to any other
response. Credentials mode is never enabled (tokens travel in headers, not
cookies), and `*` is refused at start-up.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-API-Key",
    "X-Request-ID",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",  # a browser's offline outbox retries its queued writes with it
    "Last-Event-ID",
]
EXPOSE_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "X-Request-ID",
    "X-Levelstream-Epoch",
    "X-Levelstream-Seq",
    "Idempotent-Replayed",
]

Header = tuple[bytes, bytes]


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the preflight rules answer preflights only")


class _Preflights(CORSMiddleware):
    """Starlette's preflight answer, asking the gate which origins are allowed."""

    def __init__(self, policy: CorsPolicy) -> None:
        super().__init__(
            _no_app,
            allow_methods=["GET", "PUT", "PATCH", "POST", "DELETE"],
            allow_headers=ALLOW_HEADERS,
            allow_credentials=False,
            expose_headers=EXPOSE_HEADERS,
            max_age=600,
        )
        self._policy = policy

    def is_allowed_origin(self, origin: str) -> bool:
        return self._policy.listed(origin)


def _none_listed(origin: str) -> bool:
    return False


class CorsPolicy:
    # Whether some credential may be used from an origin: the gate's `origin_listed`, set
    # once the gate is built (app/main.py); before that no origin is.
    listed: Callable[[str], bool] = staticmethod(_none_listed)

    def __init__(self, static_origins: list[str]) -> None:
        if "*" in static_origins or "null" in static_origins:
            raise ValueError(
                "LEVELSTREAM_ALLOWED_ORIGINS must list origins; * and null are refused"
            )
        self._preflights = _Preflights(self)
        self._expose = (b"access-control-expose-headers", ", ".join(EXPOSE_HEADERS).encode())

    def preflight(self, scope: Scope, origin: bytes | None) -> Response | None:
        """The answer to a CORS preflight (Starlette's: 200, or 400 naming what is not
        allowed), or None when the request is not one."""
        if origin is None or scope["method"] != "OPTIONS":
            return None
        headers = Headers(scope=scope)
        if "access-control-request-method" not in headers:
            return None
        return self._preflights.preflight_response(request_headers=headers)

    def stamp(self, scope: Scope, origin: bytes | None, headers: list[Header]) -> list[Header]:
        """`headers` of an answer (not a preflight's) with what CORS adds: `Vary: Origin`
        always, and to a request with an Origin that the gate did not refuse, the exposed
        headers and, for an allowed origin, `Access-Control-Allow-Origin`."""
        vary = b"Origin"
        for name, _ in headers:
            if name.lower() == b"vary":  # rare: merged into one, as Starlette does
                vary = b", ".join([*(v for n, v in headers if n.lower() == b"vary"), vary])
                headers = [(n, v) for n, v in headers if n.lower() != b"vary"]
                break
        if origin is None or scope["state"].get("auth_error") == "forbidden":
            return [*headers, (b"vary", vary)]
        if self.listed(origin.decode("latin-1")):
            allow = (b"access-control-allow-origin", origin)
            return [*headers, self._expose, allow, (b"vary", vary)]
        return [*headers, self._expose, (b"vary", vary)]


def origin_of(scope: Scope) -> bytes | None:
    """The request's Origin header, or None."""
    for name, value in scope["headers"]:
        if name == b"origin":
            return bytes(value)
    return None
