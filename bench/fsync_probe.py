"""`python -m bench.fsync_probe`: what one durable append costs on this disk.

Levelstream's `sync` mode ends every commit with an `fdatasync` of LevelDB's log after
a small append; that flush is the floor of a durable write's latency, and its tail
the disk's (the W4 and W4s rows of `docs/performance.md`). This does the same alone:
append `--bytes` to a file, `fdatasync` it, wait `--gap-ms`, `--writes` times, and
prints the flush's p50 and p99 per run. The file is made in `--dir` (by default a
temporary directory: on this machine the disk the benchmark's data is on) and removed
afterwards.

    python -m bench.fsync_probe --runs 3
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.measure import percentile


def flush_times(path: Path, writes: int, size: int, gap_s: float) -> list[float]:
    """Seconds each `fdatasync` took after appending `size` bytes, in order."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    record = b"x" * size
    took = []
    try:
        for _ in range(writes):
            os.write(fd, record)
            started = time.perf_counter()
            os.fdatasync(fd)
            took.append(time.perf_counter() - started)
            time.sleep(gap_s)
    finally:
        os.close(fd)
        path.unlink()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=None, help="where the file goes")
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--bytes", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="fsync-probe-") as scratch:
        for run in range(1, args.runs + 1):
            took = sorted(
                flush_times(Path(scratch) / "log", args.writes, args.bytes, args.gap_ms / 1000)
            )
            print(
                f"run {run}: {args.writes} appends of {args.bytes} B, fdatasync "
                f"p50 {percentile(took, 0.5) * 1000:.3f} ms, "
                f"p99 {percentile(took, 0.99) * 1000:.3f} ms, "
                f"max {took[-1] * 1000:.3f} ms"
            )


if __name__ == "__main__":
    main()
