"""Every server of suite `peers` as a `ServerProcess`: Levelstream and its peers.

Each runs in its own subprocess on a loopback port, pinned to the target CPU,
with RLIMIT_NOFILE raised to its hard limit (so connection counts are bounded
by the machine, not by a default soft limit). `Target` says what a server can
do (which workloads apply) and how the load generators talk to it.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench import payload
from bench.httpload import LS_API, ORIGIN, PB_API, HttpApi
from bench.peers import pocketbase
from bench.peers.rules import OWNED_VALUE
from bench.servers import ADMIN_TOKEN, Levelstream, ServerProcess

SEED_DIR = Path(__file__).resolve().parent / "seed-stack"
LATENCY_WORKLOADS = ("W4", "W4s")  # `Target.min_latency_subs` applies to these


def raise_nofile(want: int = 1_048_576) -> int:
    """Raise this process's RLIMIT_NOFILE as far as allowed; returns the new limit.

    Up to `want` (capped by fs.nr_open) where the hard limit may be raised (root
    with CAP_SYS_RESOURCE), else the soft limit up to the hard one.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        nr_open = int(Path("/proc/sys/fs/nr_open").read_text())
    except (OSError, ValueError):
        nr_open = hard
    wanted = max(hard, min(want, nr_open))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        return wanted
    except (ValueError, OSError):
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard


class _Pinned(ServerProcess):
    def _pin(self) -> None:  # in the child, before exec
        super()._pin()
        raise_nofile()

    def kill(self) -> None:
        """SIGKILL: for throwaway servers whose shutdown is not what is measured (a
        graceful drain of 10,000 connections takes seconds)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None


class LevelstreamServer(Levelstream, _Pinned):
    """Levelstream as `make run` starts it (sync by default), or in async mode.

    The embedded store always: LEVELSTREAM_* settings of the calling environment
    (a cluster test's store or bus URL, say) are not passed on.
    """

    def env(self) -> dict[str, str]:
        own = super().env()
        inherited = {k for k in os.environ if k.startswith("LEVELSTREAM_")}
        mine = {"LEVELSTREAM_DATA_DIR", "LEVELSTREAM_ADMIN_TOKEN", "LEVELSTREAM_DURABILITY"}
        kept = {k: v for k, v in own.items() if k not in inherited - mine}
        # A deployment that serves browsers (W2o sends this Origin; the others send none).
        kept["LEVELSTREAM_ALLOWED_ORIGINS"] = ORIGIN
        return kept

    def data_dir(self) -> Path:
        return self.workdir / "data"


class SeedStack(_Pinned):
    """bench/peers/seed-stack: express + level + socket.io on Node."""

    ready_path = "/readyz"

    def command(self) -> list[str]:
        return [node_binary(), str(SEED_DIR / "server.js")]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PORT": str(self.port),
            "DATA_DIR": str(self.data_dir()),
            "NODE_ENV": "production",
        }

    def data_dir(self) -> Path:
        return self.workdir / "seed-db"


class RawAsgi(_Pinned):
    ready_path = "/readyz"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bench.peers.raw_asgi",
            "--port",
            str(self.port),
            "--data",
            str(self.workdir / "raw-db"),
        ]


class RawWs(_Pinned):
    ready_path = "/readyz"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.peers.raw_ws", "--port", str(self.port)]


class RawSse(_Pinned):
    ready_path = "/readyz"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.peers.raw_sse", "--port", str(self.port)]


@dataclass(frozen=True, slots=True)
class Target:
    """A server under test and how to talk to it.

    `ws`/`sse`: the subscriber protocol of the real-time generator (None: not
    offered); `writer`: how a write enters (`put` = HTTP PUT of a document,
    `ws-publish` = a frame on a publisher socket, `post` = HTTP POST /publish).
    `workloads`: the only workloads this target runs (None: every one that
    applies); `value`: the document W1 writes and W2/W3 read; `principal`:
    "jwt" = `headers` are replaced at start by a non-admin user's JWT
    (`bench.peers.rules`), with the example rule saved when `rules`.
    """

    id: str
    label: str
    kind: str  # levelstream | seed | raw-asgi | raw-ws | raw-sse | pocketbase
    durability: str = ""
    http: bool = False  # W1-W3
    ws: str | None = None  # ls | sio | raw
    sse: str | None = None  # ls | raw | pb
    writer: str = "put"  # put | post | ws-publish | pb-create
    headers: dict[str, str] = field(default_factory=dict)
    workloads: frozenset[str] | None = None
    value: bytes = payload.VALUE
    principal: str = "admin"
    rules: bool = False
    api: HttpApi = LS_API
    # PocketBase only: GOMAXPROCS (None: unset) and whether it is pinned to one CPU.
    gomaxprocs: int | None = 1
    pinned: bool = True
    opt_in: bool = False  # runs only when BENCH_ONLY names it (issue 15's pair)
    max_subs: int | None = None  # W4/W5/W6: the largest subscriber count (None: every one)
    # W4/W4s: the smallest subscriber count. The ceilings start at 100: at one subscriber
    # (2,000 writes at 100/s, 20 s) their latency is no one's target, and the full run
    # keeps within its 20 minutes (docs/decisions.md).
    min_latency_subs: int = 1

    def runs(self, workload: str) -> bool:
        return self.workloads is None or workload in self.workloads

    def takes(self, subscribers: int, workload: str = "") -> bool:
        if workload in LATENCY_WORKLOADS and subscribers < self.min_latency_subs:
            return False
        return self.max_subs is None or subscribers <= self.max_subs

    def server(self, workdir: Path, cpus: set[int] | None) -> ServerProcess:
        if self.kind == "levelstream":
            return LevelstreamServer(workdir, durability=self.durability, cpus=cpus)
        if self.kind == "seed":
            return SeedStack(workdir, cpus=cpus)
        if self.kind == "raw-asgi":
            return RawAsgi(workdir, cpus=cpus)
        if self.kind == "raw-ws":
            return RawWs(workdir, cpus=cpus)
        if self.kind == "pocketbase":
            where = cpus if self.pinned else None
            return pocketbase.PocketBase(workdir, cpus=where, gomaxprocs=self.gomaxprocs)
        return RawSse(workdir, cpus=cpus)


LS_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# What PocketBase offers of the suite (no WebSocket, no resumable change log).
PB_WORKLOADS = frozenset({"W1", "W1u", "W2", "W3", "W4s", "W5s", "W6", "W8"})
# Reported, never judged: its HTTP and fan-out figures (W6 comes with the fan-out ramp).
PB_2CORE_WORKLOADS = frozenset({"W1", "W1u", "W2", "W3", "W5s", "W6"})
# W4s too: PocketBase's default durability (SQLite WAL, synchronous=NORMAL: no fsync per
# commit) is async's, so that is the like-for-like beside its W4s (reported, not judged).
ASYNC_WORKLOADS = frozenset({"W1", "W1u", "W4", "W4s"})

TARGETS = (
    Target("ls-sync", "Levelstream, sync (make run)", "levelstream", "sync", True, "ls", "ls",
           headers=LS_HEADERS),
    # Async differs from sync only in the fsync before an acknowledgement: it runs what a
    # write's durability changes (W1, W1u; W4 and W4s at 1 and 100 subscribers).
    Target("ls-async", "Levelstream, async", "levelstream", "async", True, "ls", "ls",
           headers=LS_HEADERS, workloads=ASYNC_WORKLOADS, max_subs=100),
    # Issue 15, rules on vs off: the same server as ls-sync, a user's JWT instead of admin.
    Target("ls-rules", "Levelstream, sync, user JWT, example rule", "levelstream", "sync",
           True, workloads=frozenset({"W1", "W2"}), value=OWNED_VALUE, principal="jwt",
           rules=True, opt_in=True),
    Target("ls-norules", "Levelstream, sync, user JWT, no rule", "levelstream", "sync", True,
           workloads=frozenset({"W1", "W2"}), value=OWNED_VALUE, principal="jwt", opt_in=True),
    Target("seed", "seed stack: express + level + socket.io", "seed", http=True, ws="sio"),
    Target("raw-asgi", "ceiling: raw ASGI on uvicorn + plyvel", "raw-asgi", http=True,
           workloads=frozenset({"W1", "W2", "W3"})),  # the ceiling of these (report.CEILING)
    Target("raw-ws", "ceiling: raw websockets broadcast", "raw-ws", ws="raw",
           writer="ws-publish", min_latency_subs=100),
    Target("raw-sse", "ceiling: plain Starlette StreamingResponse", "raw-sse", sse="raw",
           writer="post", min_latency_subs=100),
    # PocketBase: realtime over SSE only; pinned like the others, and as a user gets it here.
    Target("pb", f"PocketBase {pocketbase.VERSION}, one CPU (GOMAXPROCS=1)", "pocketbase",
           http=True, sse="pb", writer="pb-create", value=pocketbase.body(payload.VALUE),
           api=PB_API, workloads=PB_WORKLOADS),
    Target("pb-2core", f"PocketBase {pocketbase.VERSION}, both CPUs (GOMAXPROCS unset, "
           "unpinned: shares them with the load generator)", "pocketbase", http=True, sse="pb",
           writer="pb-create", value=pocketbase.body(payload.VALUE), api=PB_API,
           workloads=PB_2CORE_WORKLOADS, gomaxprocs=None, pinned=False),
)  # fmt: skip


def by_id(target_id: str) -> Target:
    return next(t for t in TARGETS if t.id == target_id)


# --- Node: the seed stack's dependencies ------------------------------------------


def node_binary() -> str:
    return shutil.which("node") or "node"


def seed_problem() -> str | None:
    """Why the seed stack cannot run here (None: it can), after `npm ci` if needed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm not found"
    lock = SEED_DIR / "package-lock.json"
    stamp = SEED_DIR / "node_modules" / ".bench-installed"
    if stamp.exists() and stamp.read_text() == lock.read_text():
        return None
    print("seed stack: npm ci ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SEED_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm ci failed: {exc}"
    if done.returncode != 0:
        return f"npm ci failed ({done.returncode}): {(done.stderr or done.stdout)[-500:]}"
    stamp.write_text(lock.read_text())
    return None
