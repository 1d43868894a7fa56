"""Swagger UI served from the `fastapi-swagger` package's files: no CDN needed.

That package ships Swagger UI 5, which renders OpenAPI 3.1 (what FastAPI
emits); `swagger-ui-bundle` stops at Swagger UI 4, which cannot.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/static/swagger"


def install(app: FastAPI) -> None:
    assets = Path(str(resources.files("fastapi_swagger") / "resources"))
    app.mount(ASSETS, StaticFiles(directory=assets), name="swagger")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Levelstream API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": False},
        )
