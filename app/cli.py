"""The `levelstream` command line."""

from __future__ import annotations

import logging
import os

import typer
import uvicorn

from app.main import create_app
from app.settings import Settings

cli = typer.Typer(help="Levelstream: a real-time JSON document backend.", no_args_is_help=True)


@cli.callback()
def _root() -> None:
    """Levelstream administration."""


@cli.command()
def serve(
    host: str = typer.Option(None, help="Listen address (default $HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="Listen port (default $PORT or 8000)"),
) -> None:
    """Serve the API (one process: LevelDB allows one owner per data directory)."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = uvicorn.Config(
        create_app(settings),
        host=host or os.environ.get("HOST", "127.0.0.1"),
        port=port or int(os.environ.get("PORT", "8000")),
        workers=1,
        loop="uvloop",
        http="httptools",
        # Our own access log is redacted; uvicorn's prints query strings (tokens).
        access_log=False,
        # X-Forwarded-For is handled by our trusted-proxy rules, never by uvicorn's
        # default trust of 127.0.0.1.
        proxy_headers=False,
        server_header=False,
        ws_max_size=2 * 1024 * 1024,
        timeout_graceful_shutdown=10,
        log_level=settings.log_level,
    )
    uvicorn.Server(config).run()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
