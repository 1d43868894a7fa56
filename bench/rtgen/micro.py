"""`python -m bench.rtgen.micro`: the generator's own Python per delivery, in-process.

N WebSocket subscribers (`WsSub`, Levelstream's flavour) each take W change frames
through `on_ws_frame`, as picows hands them over, with no sockets: what is left is
the per-frame work of the generator (finding the change, the loss check). Prints
CPU ns per delivery; the check must come out clean. Use it to compare changes to
`bench/rtgen/clients.py`: the kernel's share of a real run does not move with them.

    python -m bench.rtgen.micro --subs 1000 --writes 500
"""

from __future__ import annotations

import argparse
import asyncio
import time

from picows import WSMsgType
from picows.picows import _make_test_ws_frame

from bench.payload import numbered
from bench.rtgen.clients import Tracker, WsSub


def change(wn: int) -> bytes:
    head = b'{"type":"change","sub":"s","seq":%d,"key":"w1-%08d","op":"put","value":' % (
        wn + 1,
        wn,
    )
    return head + numbered(wn, 5) + b"}"


async def measure(subs: int, writes: int) -> tuple[float, dict[str, int]]:
    tracker = Tracker()
    listeners = [WsSub(tracker, "ls", None) for _ in range(subs)]
    for sub in listeners:
        sub.on_ws_connected(transport=None)  # no subscribe frame: ready at once
    tracker.subs = listeners
    tracker.reset(window=asyncio.Semaphore(1))
    frames = [_make_test_ws_frame(WSMsgType.TEXT, change(wn), True, False) for wn in range(writes)]
    t0 = time.process_time()
    for frame in frames:
        for sub in listeners:
            sub.on_ws_frame(None, frame)
    seconds = time.process_time() - t0
    return 1e9 * seconds / (subs * writes), tracker.check(writes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subs", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for _ in range(args.rounds):
        ns, check = asyncio.run(measure(args.subs, args.writes))
        print(f"{ns:,.0f} ns per delivery; check {check}", flush=True)


if __name__ == "__main__":
    main()
