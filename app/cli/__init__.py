"""The `levelstream` command: serve, keys, export and import, openapi (`commands`)."""

from app.cli.commands import main

__all__ = ["main"]
