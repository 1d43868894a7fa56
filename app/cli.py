"""The `levelstream` command line."""

from __future__ import annotations

import logging
import os

import typer

from app.server import serve as serve_app
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
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    serve_app(
        settings,
        host or os.environ.get("HOST", "127.0.0.1"),
        port or int(os.environ.get("PORT", "8000")),
    )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
