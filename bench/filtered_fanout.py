"""`python -m bench.filtered_fanout`: filtered fan-out against plain fan-out (issue 15).

One Levelstream server (durable `sync` mode, pinned to one CPU) and one client process
(the other CPU) holding N WebSocket connections, connection i authenticated as user
`u<i>` (a JWT minted by the admin), each with these subscriptions:

- `key`: collection `keys`, `key: "d<i>"` (the single-key baseline);
- `own`: collection `owned`, `where: doc.owner == "u<i>"`;
- `rule`: collection `notes`, no filter, under the rule `read: doc.owner == auth.sub`;
- the first 1,000 connections also `shared` (collection `shared`,
  `where: doc.status == "open"`) and `plain` (collection `plain`, no filter).

Cases, one write in flight (each PUT awaited; the next sent after the delivery):
- latency: writes to a random user's document in `keys`, `owned`, `notes`, the three
  interleaved write by write after a warm-up; from the PUT's send to its one
  subscriber's receipt (same process clock): p50/p99, and the ratio of each filtered
  case's p99 to the single-key one's (target: within 2x);
- per delivery: writes every 1,000 `shared` subscribers see (an update of an open
  document) against the same writes to `plain`, in alternating blocks: the server's
  CPU time (/proc/<pid>/stat utime+stime over each block) per delivery, reported;
- per delivery, judged (target: filtered no more than unfiltered): the same comparison
  in instructions, `python -m bench.fanout_micro where` (the hub's fan-out in-process
  under callgrind, WebSocket and SSE, 1,000 subscribers of one `where` against 1,000
  unfiltered): CPU time moves with the machine's load by more than the difference it
  should judge, an instruction count does not (docs/decisions.md).

Every round checks each delivery reached exactly the one subscriber it should (and
the shared/plain writes every one of the 1,000). Writes bench/results/filtered_fanout.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench import cpus, fanout_micro, report
from bench.servers import ADMIN_TOKEN, Levelstream

RESULTS = Path(__file__).parent / "results" / "filtered_fanout.md"
SHARED = 1000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Subscriber:
    """One connection: the arrival time of each change frame, by subscription."""

    index: int
    ws: Any = None
    arrivals: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    waiter: asyncio.Future[None] | None = None

    async def read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter_ns()
            data = raw if isinstance(raw, bytes) else raw.encode()
            if not data.startswith(b'{"type":"change"'):
                continue
            sub = data[24 : data.index(b'"', 24)].decode()
            if sub in ("shared", "plain"):
                self.counts[sub] = self.counts.get(sub, 0) + 1
            else:
                self.arrivals.setdefault(sub, []).append((now, data))
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(None)


async def mint(client: httpx.AsyncClient, user: str) -> str:
    response = await client.post(
        "/v1/auth/token",
        json={"sub": user, "ttl_s": 3600, "permissions": ["read"], "collections": ["*"]},
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def connect(port: int, sub: Subscriber, token: str) -> None:
    sub.ws = await websockets.connect(
        f"ws://127.0.0.1:{port}/v1/ws?token={token}",
        compression=None,
        max_queue=None,
        open_timeout=60,
        ping_interval=None,
    )
    i = sub.index
    frames = [
        {"op": "subscribe", "id": "1", "sub": "key", "collection": "keys", "key": f"d{i}"},
        {
            "op": "subscribe",
            "id": "2",
            "sub": "own",
            "collection": "owned",
            "where": f'doc.owner == "u{i}"',
        },
        {"op": "subscribe", "id": "3", "sub": "rule", "collection": "notes"},
    ]
    if i < SHARED:
        frames.append(
            {
                "op": "subscribe",
                "id": "4",
                "sub": "shared",
                "collection": "shared",
                "where": 'doc.status == "open"',
            }
        )
        frames.append({"op": "subscribe", "id": "5", "sub": "plain", "collection": "plain"})
    for frame in frames:
        await sub.ws.send(json.dumps(frame))
        reply = json.loads(await sub.ws.recv())
        if not reply.get("ok"):
            raise RuntimeError(f"subscribe refused: {reply}")


LATENCY_CASES = (
    ("single key", "keys", "key"),
    ("where owner", "owned", "own"),
    ("rule owner", "notes", "rule"),
)
WARMUP = 20


async def one_write(
    client: httpx.AsyncClient, subs: list[Subscriber], i: int, w: int, case: tuple[str, str, str]
) -> float:
    """A write to user i's document in the case's collection; ms until i received it."""
    _, collection, sub_id = case
    target = subs[i]
    before = len(target.arrivals.get(sub_id, []))
    target.waiter = asyncio.get_running_loop().create_future()
    key = f"d{i}" if collection == "keys" else f"n{i}-{w % 3}"
    sent = time.perf_counter_ns()
    response = await client.put(
        f"/v1/collections/{collection}/docs/{key}", json={"owner": f"u{i}", "w": w}
    )
    response.raise_for_status()
    await asyncio.wait_for(target.waiter, 30)
    arrived, data = target.arrivals[sub_id][before]
    if f'"w":{w}'.encode() not in data:
        raise RuntimeError(f"{sub_id}: subscriber {i} got another change: {data[:200]!r}")
    return (arrived - sent) / 1e6


async def latency_cases(
    client: httpx.AsyncClient, subs: list[Subscriber], writes: int
) -> dict[str, list[float]]:
    """The cases interleaved write by write (so noise falls on all alike), after a
    warm-up; each write to a random user's document."""
    rng = random.Random(7)
    out: dict[str, list[float]] = {case[0]: [] for case in LATENCY_CASES}
    for w in range(WARMUP + writes):
        i = rng.randrange(len(subs))
        for case in LATENCY_CASES:
            latency = await one_write(client, subs, i, w, case)
            if w >= WARMUP:
                out[case[0]].append(latency)
    return out


async def per_delivery_cases(
    client: httpx.AsyncClient, subs: list[Subscriber], pid: int, writes: int
) -> dict[str, float]:
    """Server CPU µs per delivery of writes every one of the 1,000 subscribers gets, to
    `plain` and to `shared` in alternating blocks of 10 (so drift falls on both)."""
    group = subs[:SHARED]
    cpu = {"plain": 0.0, "shared": 0.0}
    delivered = {"plain": 0, "shared": 0}
    sent = {"plain": 0, "shared": 0}
    for collection in cpu:  # warm-up: one write each
        await client.put(f"/v1/collections/{collection}/docs/x", json={"status": "open"})
        sent[collection] += 1
        await wait_counts(group, collection, sent[collection])
    for block in range(max(writes // 10, 2)):
        collection = ("plain", "shared")[block % 2]
        before = sum(s.counts.get(collection, 0) for s in group)
        cpu0 = cpu_seconds(pid)
        for w in range(10):
            response = await client.put(
                f"/v1/collections/{collection}/docs/x", json={"status": "open", "w": w}
            )
            response.raise_for_status()
            sent[collection] += 1
            await wait_counts(group, collection, sent[collection])
        cpu[collection] += cpu_seconds(pid) - cpu0
        delivered[collection] += sum(s.counts.get(collection, 0) for s in group) - before
    for collection, count in delivered.items():
        expected = (sent[collection] - 1) * SHARED
        if count != expected:
            raise RuntimeError(f"{collection}: {count} deliveries, expected {expected}")
    return {f"cpu {c}": cpu[c] / delivered[c] * 1e6 for c in cpu}


async def wait_counts(group: list[Subscriber], sub_id: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while any(s.counts.get(sub_id, 0) < count for s in group):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{sub_id}: deliveries missing after 60 s")
        await asyncio.sleep(0.0005)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_round(port: int, pid: int, subscribers: int, writes: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, limits=limits, timeout=60
    ) as client:
        rule = {"read": "doc.owner == auth.sub"}
        (await client.put("/v1/rules/notes", json=rule)).raise_for_status()
        tokens = [await mint(client, f"u{i}") for i in range(subscribers)]
        subs = [Subscriber(i) for i in range(subscribers)]
        started = time.monotonic()
        for chunk in range(0, subscribers, 200):
            await asyncio.gather(
                *(connect(port, s, tokens[s.index]) for s in subs[chunk : chunk + 200])
            )
        connect_s = time.monotonic() - started
        readers = [asyncio.create_task(s.read()) for s in subs]
        try:
            result: dict[str, Any] = {
                "subscribers": subscribers,
                "connect_s": connect_s,
                "loadavg": os.getloadavg()[0],
            }
            result |= await latency_cases(client, subs, writes)
            result |= await per_delivery_cases(client, subs, pid, writes)
            # Nobody heard of a write not meant for them.
            for s in subs:
                for sub_id, got in s.arrivals.items():
                    for _, data in got:
                        owner = f'"owner":"u{s.index}"'.encode()
                        if owner not in data:
                            raise RuntimeError(f"{sub_id} of u{s.index} got {data[:200]!r}")
            return result
        finally:
            for task in readers:
                task.cancel()
            await asyncio.gather(*(s.ws.close() for s in subs), return_exceptions=True)


def render(
    rounds: list[dict[str, Any]], instructions: dict[str, Any] | None, args: argparse.Namespace
) -> str:
    machine = report.machine()
    lines = [
        "# Filtered fan-out (issue 15)",
        "",
        f"`python -m bench.filtered_fanout --subscribers {args.subscribers} "
        f"--writes {args.writes} --rounds {args.rounds}`, commit {machine['commit']}, "
        f"{time.strftime('%Y-%m-%d')}. Levelstream in `sync` mode (fsync per write), "
        "pinned to one CPU; the client (Python `websockets`, one process) on the other. "
        "One write in flight. Every round checked that each change reached exactly its "
        "subscribers. Load average at each round's start: "
        + ", ".join(f"{r['loadavg']:.1f}" for r in rounds)
        + ".",
        "",
        f"{args.subscribers} WebSocket connections, each its own user with three "
        'subscriptions: a single key, a `where: doc.owner == "u<i>"`, and a '
        "collection under the rule `read: doc.owner == auth.sub`. A write goes to "
        "one user's document; latency is from the PUT's send to that user's receipt.",
        "",
        "| round | case | p50 ms | p99 ms | p99 / single key |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    worst: dict[str, float] = {}
    for n, result in enumerate(rounds, 1):
        base = pct(result["single key"], 0.99)
        for case in ("single key", "where owner", "rule owner"):
            values = result[case]
            p99 = pct(values, 0.99)
            ratio = p99 / base
            worst[case] = max(worst.get(case, 0.0), ratio)
            lines.append(
                f"| {n} | {case} | {statistics.median(values):.2f} | {p99:.2f} | {ratio:.2f}x |"
            )
    lines += ["", "Worst round, target p99 within 2x of the single key:", ""]
    for case in ("where owner", "rule owner"):
        verdict = "MET" if worst[case] <= 2.0 else "NOT MET"
        lines.append(f"- {case}: {worst[case]:.2f}x, **{verdict}**")
    lines += [
        "",
        '1,000 subscribers of one filter (`where: doc.status == "open"`) against '
        "1,000 unfiltered, every write delivered to all, per delivery. Judged on "
        "instructions (deterministic); the server's CPU time in this run beside it.",
        "",
    ]
    if instructions is None:
        lines.append("Instructions not counted (`--instruction-writes 0`): **not judged**.")
    else:
        lines += [
            f"`python -m bench.fanout_micro where --subs {instructions['subs']} "
            f"--writes {instructions['writes']}` (callgrind; user-space instructions of "
            "the hub's fan-out, set-up cancelled out):",
            "",
            fanout_micro.render_where(instructions),
            "",
        ]
        lines.append(fanout_micro.where_verdict(instructions))
    lines += [
        "",
        "Server CPU time per delivery in this run (reported, not judged: it moves with "
        "the machine's load by more than the difference):",
        "",
        "| round | unfiltered µs | filtered µs | filtered / unfiltered |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for n, result in enumerate(rounds, 1):
        ratio = result["cpu shared"] / result["cpu plain"]
        lines.append(
            f"| {n} | {result['cpu plain']:.2f} | {result['cpu shared']:.2f} | {ratio:.2f}x |"
        )
    lines += [
        "",
        f"Versions: {json.dumps(machine['versions'])}; dirty: {machine['dirty']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--instruction-writes",
        type=int,
        default=100,
        help="writes of the callgrind comparison (bench.fanout_micro where); 0: skip it",
    )
    args = parser.parse_args()
    instructions = None
    if args.instruction_writes:
        instructions = fanout_micro.compare_where(SHARED, args.instruction_writes)
        print(json.dumps(instructions))
    target_cpus, client_cpus = cpus.plan(True)
    rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            server = Levelstream(Path(tmp), cpus=target_cpus).start()
            try:
                with cpus.pinned(client_cpus):
                    rounds.append(
                        asyncio.run(
                            one_round(server.port, server.pid, args.subscribers, args.writes)
                        )
                    )
            finally:
                server.stop()
        print(json.dumps({k: v for k, v in rounds[-1].items() if not isinstance(v, list)}))
    text = render(rounds, instructions, args)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
