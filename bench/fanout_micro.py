"""`python -m bench.fanout_micro`: the hub's fan-out path in-process, one write in flight.

Drives `Hub.on_commit` with one change at a time to N subscribers, each a real
connection as the server builds it (WebSocket: a `DirectOutbox` written by our
protocol's `write_frames`; SSE: the stream's outbox and `EventStream`, written
through our HTTP cycle) on a real uvloop transport over loopback TCP. The
reading ends live in a child process (`--reader`), which tells the parent once
every subscriber has everything (so each write is its own frame to each, as W5
with one write in flight). No HTTP requests, no store: what is left is the
per-delivery work of the hub, the outboxes, the framing and the send.

It prints the CPU (user + system, this process) per delivery over the writes.
`--callgrind` runs it twice under `valgrind --tool=callgrind` (children not
traced, so the reader is not counted) with two write counts and prints the
difference in instructions per delivery: user-space instructions of the
fan-out alone (set-up and connects cancel out), stable on a busy machine.

`--where EXPR` subscribes every subscriber with that filter instead (built as
the server builds it: `build_filter`), so they form one filter group; each write
is an update of a document that matches before and after (`"match":"update"`).
`where` runs the comparison of issue 15 under callgrind: for WebSocket and SSE,
N subscribers of one `where` against N unfiltered, instructions per delivery of
each and their ratio (target: at most 1.00x, judged on the worse transport).

    python -m bench.fanout_micro ws --subs 1000 --writes 2000
    python -m bench.fanout_micro sse --subs 1000 --callgrind
    python -m bench.fanout_micro ws --subs 1000 --callgrind --where 'doc.status == "open"'
    python -m bench.fanout_micro where --subs 1000 --writes 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any

import uvloop

from app.api.filters import build_filter
from app.asgi_extensions import HTTP_STREAM
from app.auth.principal import Principal
from app.auth.rules import RuleSet
from app.realtime.connection import Connection, Subscription
from app.realtime.hub import Hub
from app.realtime.outbox import DirectOutbox
from app.store.records import change_json
from app.store.types import Change, ChangeFilter

COLLECTION = "bench"
FIRST_SEQ = 1_000_000  # seqs of one width: every frame has the same size
VALUE = b'{"title":"fan-out micro-benchmark","n":12345,"status":"open","done":false}'
QUEUE_LIMIT = 1000
# The filter of the `where` comparison: the one `bench.filtered_fanout` gives its 1,000.
WHERE = 'doc.status == "open"'


def change(seq: int) -> Change:
    """An update of a document that stays the same (it matches `WHERE` before and after),
    as the store records it: its JSON, and the previous value beside it."""
    data = change_json(seq, "put", COLLECTION, "k00000001", VALUE, seq - 1, 1764760000000)
    return Change(seq, COLLECTION, "k00000001", "put", data, VALUE)


class _Store:
    """What the hub asks of a store on this path: a listener and the head seq."""

    head_seq = FIRST_SEQ

    def add_listener(self, listener: Any) -> None:
        self.listener = listener


# --- the reading side (child process) ------------------------------------------------


def reader(port: int, subs: int) -> None:
    """Connect `subs` sockets, then, per line `<total bytes>` on the control socket, read
    until that many arrived over all of them (`-1`: whatever arrives) and answer the
    total read so far."""
    ctrl = socket.create_connection(("127.0.0.1", port))
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(subs)]
    sel = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
    total = 0
    pending = b""

    def read(timeout: float) -> bool:
        nonlocal total
        events = sel.select(timeout)
        for key, _ in events:
            with contextlib.suppress(BlockingIOError):
                total += len(key.fileobj.recv(1 << 16))  # type: ignore[union-attr]
        return bool(events)

    while True:
        while b"\n" not in pending:
            got = ctrl.recv(64)
            if not got:
                return
            pending += got
        line, pending = pending.split(b"\n", 1)
        target = int(line)
        while total < target:
            read(5.0)
        if target < 0:  # `-1`: read what is there, until nothing comes for 50 ms
            while read(0.05):
                pass
        ctrl.sendall(b"%d\n" % total)


# --- the writing side ------------------------------------------------------------------


class _Forward(asyncio.Protocol):
    """Hands the transport's backpressure to what writes (as the real protocols do)."""

    def __init__(self, pause: Any, resume: Any) -> None:
        self.pause_writing = pause  # type: ignore[method-assign]
        self.resume_writing = resume  # type: ignore[method-assign]


async def _accept(server: socket.socket, n: int) -> list[socket.socket]:
    loop = asyncio.get_running_loop()
    out = []
    for _ in range(n):
        sock, _ = await loop.sock_accept(server)
        out.append(sock)
    return out


def ws_connection(hub: Hub, principal: Principal, transport_sock: socket.socket) -> Any:
    """A subscriber as app/api/ws.py builds it, written by our WebSocket protocol."""
    from app.server.ws_protocol import WebSocketProtocol, _Writable

    # Our protocol's write path on a real transport, without uvicorn's handshake.
    proto = WebSocketProtocol.__new__(WebSocketProtocol)
    proto.close_sent = False
    proto.disconnected = False
    proto.handshake_complete = True
    proto.writable = _Writable()  # type: ignore[assignment]
    proto._plain = True
    proto.direct_bytes = 0
    proto._on_writable = None
    outbox = DirectOutbox(QUEUE_LIMIT, proto.write_frames, hub.flusher, proto.write_frame)
    connection = Connection(principal, "ws", QUEUE_LIMIT, outbox)
    return proto, connection


def subscription_filter(principal: Principal, where: str | None) -> ChangeFilter:
    """The subscribers' filter, as the server builds a subscribe's (no rules)."""
    if where is None:
        return ChangeFilter(COLLECTION)
    no_keys = (None,) * 6  # key, prefix, gt, gte, lt, lte
    return build_filter(principal, COLLECTION, *no_keys, rules=RuleSet(0, {}), where=where)


async def run(
    transport_kind: str, subs: int, writes: int, where: str | None = None
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    server = socket.create_server(("127.0.0.1", 0), backlog=4096)
    server.setblocking(False)
    port = server.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.fanout_micro", "--reader", str(port), str(subs)],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    ctrl, _ = await loop.sock_accept(server)
    socks = await _accept(server, subs)
    store = _Store()
    hub = Hub(store, QUEUE_LIMIT)  # type: ignore[arg-type]
    principal = Principal("bench", "admin", frozenset({"read", "write"}))
    flt = subscription_filter(principal, where)
    tasks = []
    for sock in socks:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if transport_kind == "ws":
            proto, connection = ws_connection(hub, principal, sock)
            transport, _ = await loop.connect_accepted_socket(
                lambda p=proto: _Forward(p.pause_writing, p.resume_writing), sock
            )
            proto.transport = transport
            sub_id = "s1"
        else:
            connection, stream = await sse_connection(hub, principal, sock)
            tasks.append(asyncio.create_task(stream))
            sub_id = "sse"
        hub.connect(connection)
        sub = Subscription(connection, sub_id, flt, None, QUEUE_LIMIT)
        hub.subscribe(sub, since=None, snapshot=False)

    async def settle(target: int) -> int:
        await loop.sock_sendall(ctrl, b"%d\n" % target)
        answer = b""
        while not answer.endswith(b"\n"):
            answer += await loop.sock_recv(ctrl, 64)
        return int(answer)

    async def stable() -> int:
        """Everything sent so far, once nothing more arrives for a while."""
        await asyncio.sleep(0.2)
        return await settle(-1)

    # Whatever the streams send first (SSE: the response head, `retry`).
    base = await stable()
    listener = store.listener
    seq = FIRST_SEQ + 1
    # The first write sets the size of a write's deliveries; it is not measured.
    listener([change(seq)])
    total = await stable()
    per_write = total - base
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    for _ in range(writes):
        seq += 1
        listener([change(seq)])
        total += per_write
        await settle(total)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    elapsed = time.perf_counter() - started
    ctrl.close()
    child.wait(30)
    for task in tasks:
        task.cancel()
    deliveries = writes * subs
    return {
        "transport": transport_kind,
        "where": where,
        "subs": subs,
        "writes": writes,
        "bytes_per_delivery": per_write / subs,
        "cpu_us_per_delivery": round(cpu / deliveries * 1e6, 3),
        "deliveries_per_s": round(deliveries / elapsed),
    }


async def sse_connection(hub: Hub, principal: Principal, sock: socket.socket) -> Any:
    """A subscriber as app/api/stream.py builds it, streamed by `EventStream` through our
    HTTP protocol's response cycle."""
    from uvicorn.protocols.http.flow_control import FlowControl

    from app.api import sse
    from app.server.http_protocol import OneWriteCycle, stream_extension

    loop = asyncio.get_running_loop()
    holder: dict[str, Any] = {}
    transport, _ = await loop.connect_accepted_socket(
        lambda: _Forward(lambda: holder["flow"].pause_writing(), lambda: holder["resume"]()),
        sock,
    )
    flow = holder["flow"] = FlowControl(transport)  # type: ignore[arg-type]
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "http_version": "1.1",
        "path": "/v1/stream",
        "headers": [],
        "state": {},
        "extensions": {},
    }
    cycle = OneWriteCycle(
        scope,  # type: ignore[arg-type]
        transport,  # type: ignore[arg-type]
        flow,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        False,
        [],
        asyncio.Event(),
        False,
        True,
        lambda: None,
    )

    def resume() -> None:  # as HttpProtocol.resume_writing
        flow.resume_writing()
        cycle.writable_again()

    holder["resume"] = resume
    scope["extensions"][HTTP_STREAM] = stream_extension(cycle)
    outbox = sse.stream_outbox(scope, QUEUE_LIMIT, hub.flusher)  # type: ignore[arg-type]
    connection = Connection(principal, "sse", QUEUE_LIMIT, outbox)
    keeper = sse.StreamKeeper(3600, 3600)
    response = sse.EventStream(connection, keeper, lambda: None)

    async def receive() -> Any:
        await asyncio.Future()

    return connection, response(scope, receive, cycle.send)


def instructions(
    transport: str, subs: int, writes: int, where: str | None, keep: str | None = None
) -> dict[str, Any]:
    """Instructions per delivery: two runs under callgrind, `writes` and twice that,
    their difference over the extra deliveries."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--callgrind needs valgrind (apt-get install valgrind)")
    counts = []
    runs = []
    for n in (writes, 2 * writes):
        with tempfile.TemporaryDirectory() as tmp:
            kind = "where" if where else "plain"
            out = os.path.join(keep or tmp, f"callgrind.{transport}.{kind}.{n}.out")
            command = [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--trace-children=no",
                sys.executable,
                "-m",
                "bench.fanout_micro",
                transport,
                "--subs",
                str(subs),
                "--writes",
                str(n),
                "--json",
            ]
            if where:
                command += ["--where", where]
            proc = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=True,
                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                # One hash seed: str hashes decide dict probes and set order, which
                # otherwise move the count by about 10,000 instructions per change.
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
            found = re.search(r"Collected : (\d+)", proc.stderr)
            assert found, proc.stderr[-2000:]
            counts.append(int(found.group(1)))
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {
        "transport": transport,
        "where": where,
        "subs": subs,
        "writes": writes,
        "counts": counts,
        "bytes_per_delivery": runs[0]["bytes_per_delivery"],
        "instructions_per_delivery": (counts[1] - counts[0]) / (writes * subs),
    }


def callgrind(args: argparse.Namespace) -> None:
    result = instructions(args.transport, args.subs, args.writes, args.where, args.keep)
    what = f"where {args.where!r}" if args.where else "unfiltered"
    print(
        f"{args.transport} {args.subs} subs, {what}: "
        f"{result['instructions_per_delivery']:,.0f} instructions per delivery "
        f"(callgrind, {args.writes} vs {2 * args.writes} writes: "
        f"{result['counts'][0]:,} / {result['counts'][1]:,})"
    )


# The unfiltered fan-out issue 15's per-delivery target is held against: "today's" when
# the target was set, i.e. the code of the first commit that counted it in instructions
# (docs/decisions.md, "Filtered fan-out: judged against the unfiltered path of the day").
# Each run counts it again from that commit's own tree and harness, beside today's.
BASELINE = "192d297"


def baseline_instructions(commit: str, transport: str, subs: int, writes: int) -> float:
    """Instructions per delivery of the unfiltered fan-out at `commit` (its `app` and
    `bench` from git, its own `bench.fanout_micro --callgrind`, this interpreter)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    archive = subprocess.run(
        ["git", "-C", root, "archive", "--format=tar", commit, "app", "bench"],
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory() as tree:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        command = [sys.executable, "-m", "bench.fanout_micro", transport, "--callgrind"]
        proc = subprocess.run(
            [*command, "--subs", str(subs), "--writes", str(writes)],
            capture_output=True,
            text=True,
            check=True,
            cwd=tree,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    found = re.search(r"([\d,]+) instructions per delivery", proc.stdout)
    assert found, proc.stdout[-2000:] + proc.stderr[-2000:]
    return float(found.group(1).replace(",", ""))


def compare_where(
    subs: int, writes: int, where: str = WHERE, baseline: str | None = BASELINE
) -> dict[str, Any]:
    """Issue 15's per-delivery target in instructions: for each transport, `subs`
    subscribers of one `where` against `subs` unfiltered at `baseline` (the target) and
    today (reported beside it); the verdict on the worse transport."""
    rows = []
    for transport in ("ws", "sse"):
        plain = instructions(transport, subs, writes, None)
        filtered = instructions(transport, subs, writes, where)
        row = {
            "transport": transport,
            "plain": plain["instructions_per_delivery"],
            "where": filtered["instructions_per_delivery"],
            "plain_bytes": plain["bytes_per_delivery"],
            "where_bytes": filtered["bytes_per_delivery"],
            "ratio": filtered["instructions_per_delivery"] / plain["instructions_per_delivery"],
        }
        if baseline is not None:
            row["baseline"] = baseline_instructions(baseline, transport, subs, writes)
            row["vs_baseline"] = row["where"] / row["baseline"]
        rows.append(row)
    judged = "vs_baseline" if baseline is not None else "ratio"
    return {
        "subs": subs,
        "writes": writes,
        "where": where,
        "baseline": baseline,
        "rows": rows,
        "worst": max(row[judged] for row in rows),
        "worst_today": max(row["ratio"] for row in rows),
        # Per change, what the filter adds to today's unfiltered fan-out (decoding the
        # change, finding and deciding the group), in instructions.
        "filter_per_change": max((row["where"] - row["plain"]) * subs for row in rows),
    }


def render_where(result: dict[str, Any]) -> str:
    baseline = result.get("baseline")
    head = "| transport |"
    rule = "| --- |"
    if baseline:
        head += f" unfiltered at `{baseline}` (the target) |"
        rule += " ---: |"
    head += " unfiltered today | `where` today |"
    rule += " ---: | ---: |"
    if baseline:
        head += f" `where` / unfiltered at `{baseline}` (judged) |"
        rule += " ---: |"
    head += " `where` / unfiltered today |"
    rule += " ---: |"
    lines = [head, rule]
    for row in result["rows"]:
        line = f"| {row['transport']} |"
        if baseline:
            line += f" {row['baseline']:,.0f} |"
        line += f" {row['plain']:,.0f} | {row['where']:,.0f} |"
        if baseline:
            line += f" {row['vs_baseline']:.3f}x |"
        line += f" {row['ratio']:.3f}x |"
        lines.append(line)
    return "\n".join(lines)


def where_verdict(result: dict[str, Any]) -> str:
    """The target's line: the worse transport against the unfiltered fan-out it is held
    to, and what the filter costs beside today's unfiltered path."""
    verdict = "MET" if result["worst"] <= 1.0 else "NOT MET"
    against = f"at `{result['baseline']}`" if result.get("baseline") else "today"
    return (
        f"Worse transport: {result['worst']:.3f}x the unfiltered fan-out {against}, "
        f"target at most 1.00x: **{verdict}**. Beside today's unfiltered path: "
        f"{result['worst_today']:.3f}x (the filter's work per change, "
        f"{result['filter_per_change']:,.0f} instructions, spread over "
        f"{result['subs']:,} deliveries)."
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--reader":
        reader(int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "transport", choices=("ws", "sse", "where"), help="where: the callgrind comparison"
    )
    parser.add_argument("--subs", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--where", help="subscribe with this filter (one filter group)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--keep", help="with --callgrind: keep its outputs in this folder")
    parser.add_argument(
        "--baseline",
        default=BASELINE,
        help="where: the commit whose unfiltered fan-out is the target ('': today's)",
    )
    args = parser.parse_args()
    if args.transport == "where":
        compared = compare_where(args.subs, args.writes, args.where or WHERE, args.baseline or None)
        print(json.dumps(compared))
        print(render_where(compared))
        print(where_verdict(compared))
        return
    if args.callgrind:
        callgrind(args)
        return
    result = uvloop.run(run(args.transport, args.subs, args.writes, args.where))
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
