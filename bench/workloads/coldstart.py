"""W8: cold start to the first 200, with an empty database and with `plan.big_docs` documents.

The clock starts just before the server process is spawned and stops at the
first 200 from its readiness route (Levelstream `/readyz`: store open and
accepting writes; the seed stack listens only once its LevelDB is open, and
its `/readyz` answers from then on), polled every 2 ms.

The big databases are built once and cached under bench/.cache/ (gitignored):
Levelstream's through `LevelStore` in-process (documents and their change-log
entries, 1000 puts per transaction), the seed's with plyvel in level's layout
(`<collection>!<key>` -> JSON). Each start gets its own copy (table files
hard-linked: LevelDB never rewrites them), so no start sees another's
recovery. The page cache stays warm: this is a process cold start, not a
cold disk.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from app.store.leveldb_driver import plyvel
from bench import payload
from bench.compare import Cell
from bench.measure import cpu_seconds, machine_busy_seconds
from bench.peers import pocketbase
from bench.peers.targets import Target
from bench.plan import Plan
from bench.scratch import Scratch
from bench.servers import ROOT, ServerProcess

CACHE = Path(__file__).resolve().parent.parent / ".cache"
POLL_S = 0.002
DOC_PATH = f"/v1/collections/{payload.COLLECTION}/docs/"
START_TIMEOUT_S = 180.0


# --- the big databases ---------------------------------------------------------------


def _fingerprint(kind: str, docs: int) -> str:
    digest = hashlib.sha256(f"{kind}:{docs}:{payload.VALUE!r}".encode())
    if kind == "pocketbase":
        digest.update(pocketbase.VERSION.encode())
    if kind == "levelstream":
        from app.store import leveldb

        digest.update(leveldb.FORMAT_VERSION)
        # leveldb/store.py too: its options and its close decide what the files look like at
        # rest (a close that leaves the memtable in the log makes every start replay it).
        for name in ("leveldb/layout.py", "records.py", "core/txn.py", "leveldb/store.py"):
            digest.update((ROOT / "app" / "store" / name).read_bytes())
    return digest.hexdigest()[:12]


def _build_levelstream(path: Path, docs: int) -> None:
    import uvloop

    from app.store.leveldb import LevelStore
    from app.store.types import WriteOp

    async def build() -> None:
        store = LevelStore(path / "db", sync=False)
        await store.start()
        try:
            for start in range(0, docs, 1000):
                await store.write(
                    [
                        WriteOp("put", payload.COLLECTION, f"k{i:07d}", payload.VALUE)
                        for i in range(start, min(docs, start + 1000))
                    ]
                )
        finally:
            await store.close()

    uvloop.run(build())


def _build_seed(path: Path, docs: int) -> None:
    db = plyvel.DB(str(path), create_if_missing=True)
    try:
        for start in range(0, docs, 10_000):
            with db.write_batch() as batch:
                for i in range(start, min(docs, start + 10_000)):
                    batch.put(f"{payload.COLLECTION}!k{i:07d}".encode(), payload.VALUE)
    finally:
        db.close()


def big_db(kind: str, docs: int) -> Path:
    """The cached database of `docs` documents for `kind` (levelstream | seed | pocketbase),
    built once."""
    name = f"{kind}-{docs}"
    path = CACHE / f"{name}-{_fingerprint(kind, docs)}"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f"{name}-*"):  # an older format: never read again
        shutil.rmtree(stale, ignore_errors=True)
    print(f"  building the {docs:,}-document {kind} database (cached) ...", file=sys.stderr)
    started = time.perf_counter()
    building = CACHE / f".building-{name}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir()
    if kind == "levelstream":
        _build_levelstream(building, docs)
    elif kind == "pocketbase":
        building.rmdir()
        pocketbase.build_big(building, docs, CACHE / f".pb-work-{os.getpid()}")
        shutil.rmtree(CACHE / f".pb-work-{os.getpid()}", ignore_errors=True)
    else:
        _build_seed(building, docs)
    building.rename(path)
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def clone(src: Path, dst: Path) -> None:
    """A private copy of a LevelDB tree: table files hard-linked, the rest copied (SQLite
    rewrites its files in place: PocketBase's are copied whole)."""
    for root, _dirs, files in os.walk(src):
        rel = Path(root).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            source, target = Path(root) / name, dst / rel / name
            if name.endswith((".ldb", ".sst")):
                os.link(source, target)
            else:
                shutil.copy2(source, target)


# --- one cold start --------------------------------------------------------------------


def _status(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(request.encode())
        head = sock.recv(64)
    return int(head[9:12]) if head.startswith(b"HTTP/1.") else 0


def time_to_ready(server: ServerProcess) -> tuple[float, dict[str, float]]:
    """Spawn `server`; seconds to its first 200 on `ready_path`, and the CPU used meanwhile
    (it is left running)."""
    log = open(server.log_path, "ab")  # noqa: SIM115 - the child keeps writing to it
    busy = machine_busy_seconds()
    started = time.perf_counter()
    server.proc = subprocess.Popen(
        server.command(),
        cwd=ROOT,
        env=server.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=server._pin,
    )
    log.close()
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited with {server.proc.returncode}:\n{server.log_tail()}")
        try:
            if _status(server.port, server.ready_path) == 200:
                seconds = time.perf_counter() - started
                own = 100 * cpu_seconds(server.pid) / seconds
                machine = 100 * (machine_busy_seconds() - busy) / seconds
                return seconds, {
                    "cpu_server_pct": round(own, 1),
                    "machine_cpu_pct": round(machine, 1),
                    "cpu_other_pct": round(max(0.0, machine - own), 1),
                }
        except OSError:
            pass
        if time.perf_counter() - started > START_TIMEOUT_S:
            raise RuntimeError(f"not ready after {START_TIMEOUT_S:.0f} s:\n{server.log_tail()}")
        time.sleep(POLL_S)


def db_dir(target: Target, workdir: Path) -> Path:
    if target.kind == "pocketbase":
        return workdir / "pb_data"
    return workdir / "data" if target.kind == "levelstream" else workdir / "seed-db"


def kind_of(target: Target) -> str:
    return target.kind if target.kind in ("levelstream", "pocketbase") else "seed"


def last_doc_path(target: Target, docs: int) -> str:
    if target.kind == "pocketbase":
        return f"{pocketbase.RECORDS}/{pocketbase.record_id(docs - 1)}"
    return f"{DOC_PATH}k{docs - 1:07d}"


def _compile_app() -> None:
    """Compile app/ to bytecode, as a deployed server's first start leaves it.

    Python caches compiled modules in __pycache__ and reuses them on the next
    start; where PYTHONDONTWRITEBYTECODE is set (CI images, this sandbox) it
    never writes them, and every start would compile the whole app (~50 ms)
    though installed packages come precompiled. Reading a cache is still
    allowed, so this gives every start what a real deployment has.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "app")], check=True)


def run(target: Target, area: Scratch, rnd: int, plan: Plan, cpus: set[int] | None) -> list[Cell]:
    cells = []
    if target.kind == "levelstream":
        _compile_app()
    sizes = [0] + ([plan.big_docs] if plan.big_docs else [])
    for docs in sizes:
        kind = kind_of(target)
        # PocketBase's "empty" is its schema and collection without records: its first
        # start ever (migrations creating data.db) is not what a restart costs.
        source = big_db(kind, docs) if docs or kind == "pocketbase" else None
        for _ in range(plan.cold_starts):
            workdir = area.fresh(f"cold-{target.id}-{docs}")
            try:
                if source is not None:
                    clone(source, db_dir(target, workdir))
                server = target.server(workdir, cpus)
                try:
                    seconds, extra = time_to_ready(server)
                    if docs:  # the copy is the database it should be
                        status = _status(server.port, last_doc_path(target, docs), target.headers)
                        if status != 200:
                            extra["failure"] = f"GET of the last document answered {status}"
                finally:
                    server.stop()
            finally:
                area.discard(workdir)
            param = "empty" if not docs else f"{docs:,} docs"
            errors = 1 if "failure" in extra else 0
            cells.append(
                Cell("W8", target.id, param, rnd, round(seconds, 4), errors=errors, extra=extra)
            )
    return cells
