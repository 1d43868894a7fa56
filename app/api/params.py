"""Request parameters, declared once: the parser and the OpenAPI description of each.

An operation's query (and headers) are a pydantic model (`RangeQuery`, `WriteQuery`,
...). The operation parses them with `parse_query`, whichever dispatch reached it
(the front door or a FastAPI route), and the route describes them with
`openapi_parameters` built from the same model: there is no second parser (FastAPI
validates none of these routes' parameters) and no description that could drift
from what runs. A value that does not fit is the same 422 on every path, named by
`problems.invalid`.

The limits written here are the only copies: the page size, the cursor length, the
TTL bound (`TtlSeconds`, also used for the `ttl_s` of JSON ops).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from app.api.bodies import MAX_TTL_S
from app.api.problems import invalid
from app.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)
Location = Literal["path", "query", "header"]

MAX_PAGE = 1000  # documents of a range page, changes of a poll
MAX_CURSOR = 2048  # characters of a range cursor (ours are far shorter)

PageLimit = Annotated[int, Field(ge=1, le=MAX_PAGE)]
TtlSeconds = Annotated[float, Field(gt=0, le=MAX_TTL_S)]
# The `ttl_s` member of a JSON op (a batch's, a WebSocket write's): the same bound, and
# a JSON number only (no string, no boolean), as JSON members are typed.
_JSON_TTL: TypeAdapter[float | None] = TypeAdapter(
    Annotated[float | None, Field(gt=0, le=MAX_TTL_S, strict=True)]
)


def parse_query(model: type[M], query: bytes) -> M:
    """The query string as `model`, read as Starlette reads one: percent-decoded as
    UTF-8 (the request context refused anything else), the last value of a repeated
    name wins, unknown names are ignored."""
    if not query:
        return _defaults(model)
    return validated(model, query_values(query), "query")


def query_values(query: bytes) -> dict[str, str]:
    """The query string's names and values (the last of a repeated name)."""
    return dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))


def validated(model: type[M], values: dict[str, Any], where: Location) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise invalid(exc.errors(include_url=False), where) from None


def json_ttl_s(value: object) -> float | None:
    """A JSON op's `ttl_s`, checked against `TtlSeconds`' bound."""
    try:
        return _JSON_TTL.validate_python(value)
    except ValidationError as exc:
        # Named as a member (`field`), so a batch names it within its op: `ops[3].ttl_s`.
        detail = invalid(exc.errors(include_url=False), prefix=("ttl_s",)).detail
        raise ValidationFailed(detail, field="ttl_s") from None


_DEFAULTS: dict[type[BaseModel], BaseModel] = {}


def _defaults(model: type[M]) -> M:
    """An empty query: the model's defaults (validated once; a required field still fails)."""
    found = _DEFAULTS.get(model)
    if found is None:
        found = _DEFAULTS[model] = validated(model, {}, "query")
    return found  # type: ignore[return-value]


def openapi_parameters(model: type[BaseModel], where: Location) -> list[dict[str, Any]]:
    """The OpenAPI parameter objects of `model`'s fields, as FastAPI would write them
    for the same declarations (so the document and the SDKs stay as they were)."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema["properties"].items():
        field_schema = dict(field_schema)
        if field_schema.get("default", 0) is None:
            del field_schema["default"]  # FastAPI leaves out a None default
        parameter: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": name in required,
            "schema": field_schema,
        }
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        parameters.append(parameter)
    return parameters


# Operations whose routes take the raw request declare their credentials here (the
# schemes themselves are declared by `deps`' documented dependencies).
SECURITY: list[dict[str, list[str]]] = [{"HTTPBearer": []}, {"APIKeyHeader": []}]


def described(*groups: tuple[type[BaseModel], Location], **extra: Any) -> dict[str, Any]:
    """`openapi_extra` of a route that parses its own parameters: the parameters of
    each (model, location), the credentials, and any `extra` (a request body)."""
    parameters = [p for model, where in groups for p in openapi_parameters(model, where)]
    return {"parameters": parameters, "security": SECURITY, **extra}
