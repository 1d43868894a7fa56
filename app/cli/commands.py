"""The `levelstream` command line (typer).

Each command imports what it needs when it runs: `serve` is timed from the
process start to the first answer, and the other commands' modules (the HTTP
admin client, progress bars) have no place in that time.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import orjson
import typer

from app.errors import LevelstreamError, ValidationFailed

if TYPE_CHECKING:
    from app.store.base import Store

cli = typer.Typer(help="Levelstream: a real-time JSON document backend.", no_args_is_help=True)
keys_cli = typer.Typer(help="Manage API keys (offline, or through the admin API while it runs).")
cli.add_typer(keys_cli, name="keys")
T = TypeVar("T")


@cli.callback()
def _root() -> None:
    """Levelstream administration."""
    # Everything this process creates (the data directory, LevelDB's files, which it
    # makes with the process umask, secrets, exports) is for its owner only.
    os.umask(0o077)


def _keep_private(data_dir: Path) -> None:
    """The data directory 0700 and what is in it 0600 (dirs 0700), also when it was
    made before (by hand, by an older version or with another umask)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):  # never the mode of a file elsewhere
                os.chmod(path, 0o600)


@cli.command()
def serve(
    host: str = typer.Option(None, help="Listen address (default $HOST, .env's HOST, 127.0.0.1)"),
    port: int = typer.Option(None, help="Listen port (default $PORT, .env's PORT, 8000)"),
) -> None:
    """Serve the API (one process: LevelDB allows one owner per data directory)."""
    # Importing the server leaves ~110,000 objects tracked by the GC and frees
    # almost none: the cyclic collector would walk them over and over (~35 ms
    # of a ~0.5 s start). So it is off while importing, and what was
    # imported (modules, models, routes: alive for good) is then frozen out of
    # its sight, so no full collection walks it again either.
    gc.disable()
    try:
        from app.main import create_app
        from app.server.run import serve as serve_app
        from app.settings import ConfigError, ListenAddress, Settings
    finally:
        gc.freeze()
        gc.enable()

    settings = Settings()
    _keep_private(settings.data_dir)
    if settings.store_url is None:
        from app.store.leveldb import held_by_another_process, in_use_message

        # Said here in one line: once the server starts, the store's refusal would come
        # out of uvicorn's lifespan as a logged traceback.
        if held_by_another_process(settings.data_dir / "db"):
            typer.echo(f"error: {in_use_message(settings.data_dir)}", err=True)
            raise typer.Exit(1)
    listen = ListenAddress()
    try:
        serve_app(create_app(settings), settings, host or listen.host, port or listen.port)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


class _ServerRunning(Exception):
    pass


def _offline(work: Callable[[Store], Awaitable[T]], online: Callable[[], T] | None = None) -> T:
    """Run `work` against the data directory's store, with the server stopped.

    When the server runs (it holds LevelDB's lock), `online` does the same
    through the admin API, where the command has such a path.
    """

    from app.backends import open_store
    from app.settings import Settings

    async def run() -> T:
        try:
            store = open_store(Settings())
        except RuntimeError as exc:
            if online is not None:
                raise _ServerRunning from None
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        await store.start()
        try:
            return await work(store)
        except LevelstreamError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except _ServerRunning:
        assert online is not None
        try:
            return online()
        except LevelstreamError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from None


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@keys_cli.command("create")
def keys_create(
    name: str = typer.Option(..., help="A label for the key"),
    permissions: str = typer.Option("read", help="Comma-separated: read,write,delete,admin"),
    collections: str = typer.Option("*", help="Comma-separated glob patterns"),
    channels: str = typer.Option("*", help="Comma-separated glob patterns"),
    allowed_origins: str = typer.Option("", help="Comma-separated origins"),
    allowed_ips: str = typer.Option("", help="Comma-separated CIDRs"),
    rate_limit_per_s: int = typer.Option(0, help="Requests per second (0: unlimited)"),
) -> None:
    """Create a key and print it (with its token, shown once) as JSON."""
    from app.auth.apikeys import KeyRegistry, KeySpec
    from app.cli import admin_client

    spec = KeySpec.model_validate(
        {
            "name": name,
            "permissions": _csv(permissions),
            "collections": _csv(collections),
            "channels": _csv(channels),
            "allowed_origins": _csv(allowed_origins),
            "allowed_ips": _csv(allowed_ips),
            "rate_limit_per_s": rate_limit_per_s or None,
        }
    )

    async def create(store: Store) -> dict[str, Any]:
        registry = KeyRegistry(store)
        key, token = await registry.create(spec)
        return {**key.public().model_dump(mode="json"), "token": token}

    def create_online() -> dict[str, Any]:
        created: dict[str, Any] = admin_client.call(
            "POST", "/v1/keys", spec.model_dump(mode="json", exclude_none=True)
        )
        return created

    typer.echo(orjson.dumps(_offline(create, create_online), option=orjson.OPT_INDENT_2).decode())


@keys_cli.command("list")
def keys_list() -> None:
    """List keys (never their secrets) as JSON."""
    from app.auth.apikeys import KeyRegistry
    from app.cli import admin_client

    async def listing(store: Store) -> list[dict[str, Any]]:
        registry = KeyRegistry(store)
        await registry.load()
        return [key.public().model_dump(mode="json") for key in registry.all()]

    def listing_online() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = admin_client.call("GET", "/v1/keys")["items"]
        return items

    typer.echo(orjson.dumps(_offline(listing, listing_online), option=orjson.OPT_INDENT_2).decode())


@keys_cli.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="The key's id")) -> None:
    """Revoke a key."""
    from app.auth.apikeys import KeyRegistry
    from app.cli import admin_client

    async def revoke(store: Store) -> None:
        registry = KeyRegistry(store)
        await registry.load()
        await registry.revoke(key_id)

    def revoke_online() -> None:
        admin_client.call("DELETE", f"/v1/keys/{key_id}")

    _offline(revoke, revoke_online)
    typer.echo(f"revoked {key_id}")


@cli.command()
def export(output: str = typer.Option(..., help="NDJSON file to write")) -> None:
    """Export every document from one snapshot (server stopped), as GET /v1/admin/export."""
    from rich.progress import Progress

    from app.api.admin import export_lines

    async def run(store: Store) -> int:
        written = 0
        with open(output, "wb") as handle, Progress(transient=True) as progress:
            task = progress.add_task("exporting", total=None)
            async for chunk in export_lines(store):
                handle.write(chunk)
                lines = chunk.count(b"\n")
                written += lines
                progress.advance(task, lines)
        return written - 1  # the header line

    count = _offline(run)
    typer.echo(f"exported {count} documents to {output}")


@cli.command("import")
def import_(source: str = typer.Option(..., "--input", help="NDJSON file from export")) -> None:
    """Load an export into an empty data directory (server stopped)."""
    from rich.progress import Progress

    from app.store.maintenance import load_export

    async def lines(handle: BinaryIO) -> AsyncIterator[bytes]:
        for line in handle:
            yield line

    async def run(store: Store) -> int:
        with open(source, "rb") as handle, Progress(transient=True) as progress:
            task = progress.add_task("importing", total=None)
            imported, _epoch, _seq = await load_export(
                store, lines(handle), lambda count: progress.advance(task, count)
            )
        return imported

    count = _offline(run)
    typer.echo(f"imported {count} documents from {source}")


@cli.command()
def compact() -> None:
    """Trim the change log to retention and compact LevelDB (server stopped)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from app.store.leveldb import LevelStore

    async def run(store: Store) -> int:
        if not isinstance(store, LevelStore):
            raise ValidationFailed(
                "compact is for the embedded store; PostgreSQL trims the log by itself "
                "and reclaims space with autovacuum"
            )
        dropped = 0
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
            bar.add_task("trimming the change log", total=None)
            while (trimmed := await store.trim_once()) > 0:
                dropped += trimmed
            bar.add_task("compacting LevelDB", total=None)
            await asyncio.to_thread(store.db.compact_range)
        return dropped

    dropped = _offline(run)
    typer.echo(f"dropped {dropped} changes past retention; compaction done")


@cli.command()
def openapi(output: str = typer.Option("-", help="File to write, or - for stdout")) -> None:
    """Print the OpenAPI document (built by importing the app, no server needed)."""
    from app.cli.openapi_export import openapi_json

    document = openapi_json()
    if output == "-":
        typer.echo(document.decode(), nl=False)
    else:
        with open(output, "wb") as handle:
            handle.write(document)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
