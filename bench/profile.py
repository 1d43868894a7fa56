"""`python -m bench.profile`: where Levelstream's server spends its CPU under W1-W5s.

Starts Levelstream as `make run` does (sync; `BENCH_PROFILE_MODE=async` for
the other), pinned like in suite `peers`, drives one workload at a time with
the same load generators, and samples the server with py-spy (the `bench`
extra) during the measured window only. Writes the raw stacks to
`bench/results/profile/<workload>.txt` and a summary to
`bench/results/profile.md`: per thread, the functions with the most samples
on top of the stack (self) and anywhere on it (inclusive), and the share per
package (app, uvicorn, starlette, websockets, asyncio, ...). W4-1k is a
fan-out with one write in flight, W4's shape; the send-cost experiment runs
that shape against Levelstream, the seed and the raw websockets server
without py-spy and reports server CPU per delivery. W8's cold start is
profiled with pyinstrument (`bench.coldstart_profile`). Then a GC
experiment at 10,000 subscribers (`BENCH_PROFILE_GC=0` skips it): the same
server with the cyclic garbage collector disabled, to show what it costs.

    BENCH_PROFILE_SECONDS=8 .venv/bin/python -m bench.profile
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import cpus, httpload, rtgen
from bench.config import profile_from_env
from bench.peers.targets import LevelstreamServer, by_id, raise_nofile
from bench.scratch import scratch
from bench.servers import ROOT

TOP = 15


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is missing: make bench-deps (pip install -e '.[bench]')")
    return found


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "200",
            "--threads",
            "--gil",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frame_name(frame: str) -> str:
    """`func (path/to/file.py:123)` -> `func (file.py)`: lines merged, paths cut."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def _package(frame: str) -> str:
    where = frame.partition(" (")[2]
    for marker, name in (
        ("app/store", "app.store"),
        ("app/realtime", "app.realtime"),
        ("app/api", "app.api"),
        ("app/auth", "app.auth"),
        ("app/", "app (other)"),
        ("uvicorn", "uvicorn"),
        ("starlette", "starlette"),
        ("fastapi", "fastapi"),
        ("sse_starlette", "sse_starlette"),
        ("websockets", "websockets"),
        ("pydantic", "pydantic"),
        ("asyncio", "asyncio"),
        ("plyvel", "plyvel"),
        ("concurrent", "concurrent.futures"),
        ("threading", "threading"),
        ("logging", "logging"),
    ):
        if marker in where:
            return name
    return "other"


def summarize(raw: Path) -> dict[str, Any]:
    by_thread: dict[str, dict[str, Counter[str]]] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith(("thread", "process")) else "?"
        frames = [f for f in frames[1:] if f]
        if not frames:
            continue
        total += count
        t = by_thread.setdefault(
            thread, {"self": Counter(), "incl": Counter(), "pkg": Counter(), "n": Counter()}
        )
        t["n"]["samples"] += count
        t["self"][_frame_name(frames[-1])] += count
        t["pkg"][_package(frames[-1])] += count
        for name in {_frame_name(f) for f in frames}:
            t["incl"][name] += count
    threads = []
    for thread, t in sorted(by_thread.items(), key=lambda kv: -kv[1]["n"]["samples"]):
        n = t["n"]["samples"]
        # Frames on (nearly) every stack of the thread are its roots: they say nothing.
        inclusive = [(k, v) for k, v in t["incl"].most_common() if v < 0.97 * n][:TOP]
        threads.append(
            {
                "thread": thread,
                "samples": n,
                "share": round(n / total, 3) if total else 0,
                "self": [(k, round(v / n, 3)) for k, v in t["self"].most_common(TOP)],
                "inclusive": [(k, round(v / n, 3)) for k, v in inclusive],
                "packages": [(k, round(v / n, 3)) for k, v in t["pkg"].most_common()],
            }
        )
    return {"samples": total, "threads": threads}


def markdown(results: dict[str, dict[str, Any]], mode: str, seconds: float) -> str:
    lines = [
        f"# Server profile (py-spy, Levelstream `{mode}`, {seconds:g} s per workload)",
        "",
        "py-spy `--gil`: only samples of the thread holding the GIL, i.e. Python CPU time; "
        "C code that releases the GIL (LevelDB inside plyvel, fsync, the kernel's socket "
        "work) is not counted, C code that keeps it (uvloop's transport writes, orjson) is "
        "charged to the Python function that called it. Shares are of the thread's samples; "
        "the inclusive column leaves out the frames on (nearly) every stack.",
    ]
    for workload, data in results.items():
        lines += [
            "",
            f"## {workload}: {data['what']}",
            "",
            f"{data['summary']['samples']} samples.",
        ]
        for t in data["summary"]["threads"][:3]:
            lines += [
                "",
                f"### {t['thread']}: {t['share']:.0%} of samples",
                "",
                "By package (self): "
                + ", ".join(f"{k} {v:.0%}" for k, v in t["packages"] if v >= 0.01),
                "",
                "| self | function | | inclusive | function |",
                "| ---: | :--- | --- | ---: | :--- |",
            ]
            for (sf, sv), (inf, iv) in zip(t["self"], t["inclusive"], strict=False):
                lines.append(f"| {sv:.1%} | `{sf}` | | {iv:.1%} | `{inf}` |")
    return "\n".join(lines) + "\n"


class GcOffServer(LevelstreamServer):
    """The same server with Python's cyclic garbage collector disabled (a diagnostic only)."""

    def command(self) -> list[str]:
        boot = (
            "import gc, sys; gc.disable(); "
            f"sys.argv = ['levelstream', 'serve', '--port', '{self.port}']; "
            "from app.cli import main; main()"
        )
        return [sys.executable, "-c", boot]


def _profile_http(server: Any, target: Any, out_dir: Path, seconds: float, lg: Any) -> dict:
    results: dict[str, dict[str, Any]] = {}
    auth = target.headers["Authorization"]
    httpload.seed_docs(server.port, 10_000, target.headers, batch=True)
    for workload, mode, what in (
        ("W1", "put", "PUT throughput, 64 connections (wrk)"),
        ("W2", "get", "GET throughput, 64 connections (wrk)"),
        ("W3", "range", "100-document range reads, 64 connections (wrk)"),
    ):
        common = {"connections": 64, "server_pid": server.pid, "cpus": lg, "keys": 10_000}
        httpload.run_wrk(server.port, mode=mode, seconds=1, auth=auth, run="warm", **common)
        raw = out_dir / f"{workload}.txt"
        spy = record(server.pid, seconds, raw)
        time.sleep(0.5)
        wrk = httpload.run_wrk(
            server.port, mode=mode, seconds=round(seconds) + 1, auth=auth, run="prof", **common
        )
        spy.wait(60)
        what += f": {wrk.requests / wrk.seconds:,.0f}/s while sampled"
        results[workload] = {"what": what, "summary": summarize(raw)}
        print(f"profiled {workload}", file=sys.stderr, flush=True)
    return results


def _profile_fanout(
    server: Any,
    target: Any,
    proto: str,
    subs: int,
    raw: Path,
    seconds: float,
    lg: Any,
    window: int = 8,
) -> dict[str, Any] | None:
    """Sample the server during a fan-out window (after its subscribers are connected)."""
    spec = rtgen.base_spec(target, server, proto)
    spec["steps"] = [
        {"op": "connect", "total": subs},
        {"op": "fanout", "window": window, "warmup_s": 0.5, "seconds": seconds + 1.5},
    ]
    gen = subprocess.Popen(
        [sys.executable, "-m", "bench.rtgen", json.dumps(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, lg)) if lg else None,
    )
    assert gen.stdout is not None
    spy = None
    rate = ""
    for line in gen.stdout:
        if spy is None and '"op": "connect"' in line:
            time.sleep(0.5)
            spy = record(server.pid, seconds, raw)
        if '"op": "fanout"' in line:
            rate = f": {json.loads(line)['per_s']:,.0f} deliveries/s while sampled"
    gen.wait(120)
    if spy is None:
        return None
    spy.wait(60)
    transport = "WebSocket" if proto == "ws" else "SSE"
    flight = f"{window} writes in flight" if window > 1 else "one write in flight (W4's shape)"
    what = f"fan-out to {subs:,} {transport} subscribers, {flight}{rate}"
    return {"what": what, "summary": summarize(raw)}


def _gc_experiment(area: Any, tc: Any, lg: Any) -> list[dict[str, Any]]:
    """W4 and W5 at 10,000 WS subscribers, with and without the cyclic GC."""
    target = by_id("ls-sync")
    rows = []
    for label, cls in (("gc on (as shipped)", LevelstreamServer), ("gc disabled", GcOffServer)):
        server = cls(area.fresh(f"gc-{cls.__name__}"), cpus=tc)
        with server:
            spec = rtgen.base_spec(target, server, "ws")
            spec["steps"] = [
                {"op": "connect", "total": 10_000},
                {"op": "latency", "rate": 2.0, "writes": 6},
                {"op": "fanout", "window": 8, "warmup_s": 0.5, "seconds": 2.0},
            ]
            connect, lat, fan = rtgen.run(spec, lg)
        rows.append(
            {
                "server": label,
                "accepted_per_s": connect["per_s"],
                "kib_per_conn": connect["kib_per_conn"],
                "w4_p50_ms": lat["p50_ms"],
                "w4_p99_ms": lat["p99_ms"],
                "w5_per_s": fan["per_s"],
                "lost": lat["lost"] + fan["lost"],
                "other_cpu_pct": max(c["cpu_other_pct"] for c in (connect, lat, fan)),
            }
        )
        print(f"gc experiment: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def _write_share(results: dict[str, dict[str, Any]]) -> float | None:
    """The share of W4-1k's event-loop samples spent in the direct socket write."""
    found = results.get("W4-1k")
    if not found or not found["summary"]["threads"]:
        return None
    main = found["summary"]["threads"][0]
    writes = [share for name, share in main["self"] if name.startswith("WebSocketProtocol.write")]
    return float(sum(writes))


def _send_cost_experiment(area: Any, tc: Any, lg: Any) -> list[dict[str, Any]]:
    """Server CPU per delivery with one write in flight at 1,000 WS subscribers (W4's shape).

    With one change per write, every delivery is its own socket write for every
    server; this shows how much of W4's fan-out is the kernel's send, which no
    server avoids, against the rest of each server's work.
    """
    rows = []
    for target_id in ("ls-sync", "seed", "raw-ws"):
        target = by_id(target_id)
        with target.server(area.fresh(f"send-{target_id}"), tc) as server:
            spec = rtgen.base_spec(target, server, "ws")
            spec["steps"] = [
                {"op": "connect", "total": 1000},
                {"op": "fanout", "window": 1, "warmup_s": 0.5, "seconds": 4.0},
            ]
            _, fan = rtgen.run(spec, lg)
        per_s = fan["per_s"]
        rows.append(
            {
                "server": target_id,
                "deliveries_per_s": per_s,
                "server_cpu_pct": fan["cpu_server_pct"],
                "us_per_delivery": round(fan["cpu_server_pct"] / 100 / per_s * 1e6, 2)
                if per_s
                else None,
                "lost": fan["lost"],
                "other_cpu_pct": fan["cpu_other_pct"],
            }
        )
        print(f"send-cost experiment: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def send_cost_table(rows: list[dict[str, Any]], w4_share: float | None) -> str:
    lines = [
        "",
        "## Send-cost experiment: one write in flight, 1,000 WebSocket subscribers",
        "",
        "W4's shape (one change per write, so one socket write per delivery for every "
        "server) at full speed: server CPU per delivery, from its CPU time and the "
        "deliveries counted by the generator.",
        "",
        "| server | deliveries/s | server CPU % | server CPU µs per delivery | lost | "
        "other CPU % |",
        "| :--- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['server']} | {r['deliveries_per_s']:,.0f} | {r['server_cpu_pct']} | "
            f"{r['us_per_delivery']} | {r['lost']} | {r['other_cpu_pct']} |"
        )
    if w4_share is not None:
        lines += [
            "",
            f"Levelstream's profile of this shape (`W4-1k` above): {w4_share:.0%} of the "
            "event loop's samples are in `WebSocketProtocol.write_frames`, i.e. the "
            "`transport.write` call and the kernel's send under it.",
        ]
    return "\n".join(lines) + "\n"


def _cold_start() -> dict[str, Any]:
    """`bench.coldstart_profile` in a fresh interpreter (app/ compiled, as W8 starts it)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "app")], check=True)
    done = subprocess.run(
        [sys.executable, "-m", "bench.coldstart_profile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def cold_start_table(found: dict[str, Any]) -> str:
    phases = found["phases_s"]
    lines = [
        "",
        "## W8: cold start, in-process (pyinstrument)",
        "",
        "`python -m bench.coldstart_profile`: import the server, build the app, run the "
        "lifespan start-up on an empty data directory, sampled every 0.5 ms "
        "(sampling slows it down; W8 measures the real start end to end). "
        "A module's own time is its `<module>` frame minus the modules it imports, and "
        "includes building the pydantic models and routes it defines.",
        "",
        "| phase | seconds |",
        "| :--- | ---: |",
        *(f"| {name} | {seconds} |" for name, seconds in phases.items()),
        "",
        "| imports by package | seconds |",
        "| :--- | ---: |",
        *(f"| {name} | {seconds} |" for name, seconds in found["import_s_by_package"].items()),
        "",
        "| our slowest modules | seconds |",
        "| :--- | ---: |",
        *(
            f"| `{name}` | {seconds} |"
            for name, seconds in found["import_s_of_app_modules"].items()
        ),
    ]
    return "\n".join(lines) + "\n"


def gc_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "",
        "## GC experiment: 10,000 WebSocket subscribers (`ls-sync`)",
        "",
        "The same server started with `gc.disable()` before the app is imported "
        "(a diagnostic, not a setting): what the cyclic collector costs at this size.",
        "",
        "| server | accepted/s | KiB/conn | W4 p50 ms | W4 p99 ms | W5 deliveries/s | lost | "
        "other CPU % |",
        "| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['server']} | {r['accepted_per_s']:,.0f} | {r['kib_per_conn']} | "
            f"{r['w4_p50_ms']} | {r['w4_p99_ms']} | {r['w5_per_s']:,.0f} | {r['lost']} | "
            f"{r['other_cpu_pct']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    profile = profile_from_env()
    mode = os.environ.get("BENCH_PROFILE_MODE", "sync")
    seconds = float(os.environ.get("BENCH_PROFILE_SECONDS", "6"))
    target = by_id(f"ls-{mode}")
    tc, lg = cpus.plan(profile.pin)
    raise_nofile()
    out_dir = profile.results_dir / "profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    with scratch(profile.tmp_root) as area, cpus.pinned(lg):
        with target.server(area.fresh("profile-http"), tc) as server:
            results.update(_profile_http(server, target, out_dir, seconds, lg))
        for workload, proto, subs, window in (
            ("W4-1k", "ws", 1000, 1),
            ("W5", "ws", 1000, 8),
            ("W5-10k", "ws", 10_000, 8),
            ("W5s", "sse", 1000, 8),
        ):
            with target.server(area.fresh(f"profile-{workload}"), tc) as server:
                raw = out_dir / f"{workload}.txt"
                found = _profile_fanout(server, target, proto, subs, raw, seconds, lg, window)
            if found:
                results[workload] = found
                print(f"profiled {workload}", file=sys.stderr, flush=True)
        send_rows = _send_cost_experiment(area, tc, lg)
        cold = _cold_start()
        gc_rows = (
            _gc_experiment(area, tc, lg) if os.environ.get("BENCH_PROFILE_GC", "1") != "0" else []
        )
    text = markdown(results, mode, seconds) + send_cost_table(send_rows, _write_share(results))
    text += cold_start_table(cold)
    text += gc_table(gc_rows) if gc_rows else ""
    (profile.results_dir / "profile.md").write_text(text)
    data = {
        "profiles": results,
        "send_cost_experiment": send_rows,
        "cold_start": cold,
        "gc_experiment": gc_rows,
    }
    (profile.results_dir / "profile.json").write_text(json.dumps(data, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
