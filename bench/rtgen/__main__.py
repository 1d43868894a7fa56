"""`python -m bench.rtgen '<spec json>'`: run the steps of a spec, one JSON line per step.

With `"hold": true` the subscribers stay open after the last step until
standard input closes (so the caller can measure the server meanwhile).
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import traceback
from typing import Any

import uvloop

from bench.peers.targets import raise_nofile
from bench.rtgen.gen import Gen


def emit(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def main(spec: dict[str, Any]) -> None:
    gen = Gen(spec)
    try:
        for index, step in enumerate(spec["steps"]):
            args = {k: v for k, v in step.items() if k != "op"}
            # No collector pass inside a step: what is alive now (thousands of
            # subscribers) is frozen out of every later pass, and a step makes no
            # garbage cycles worth a pause in the middle of a measured window.
            gc.collect()
            gc.freeze()
            gc.disable()
            try:
                result = await getattr(gen, step["op"])(**args)
            finally:
                gc.enable()
            emit({"step": index, "op": step["op"], **result})
        if spec.get("hold"):
            emit({"holding": True})
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        gen.close()


if __name__ == "__main__":
    raise_nofile()
    try:
        uvloop.run(main(json.loads(sys.argv[1])))
    except Exception as exc:
        emit({"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-2000:]})
        sys.exit(1)
