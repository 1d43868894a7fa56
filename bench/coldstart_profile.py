"""`python -m bench.coldstart_profile`: where a cold start's time goes, with pyinstrument.

Runs, in this fresh interpreter, what `levelstream serve` does before it can
answer (import the server module, build the app, run the lifespan start-up:
open the store, start the writer) on an empty data directory, sampled by
pyinstrument every 0.5 ms. Prints one JSON line: the wall time of each phase
and the sampled time of each imported package's own module code (time in a
module's `<module>` frame minus the modules it imports in turn; a module's
own time includes building the pydantic models it defines). W8 measures
the same start end to end, through a real socket; this says what it is made of.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from collections import Counter
from typing import Any

from pyinstrument import Profiler


def _package(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            rest = path.split(marker, 1)[1]
            if marker == "/lib/python3":
                return "stdlib"
            return rest.split("/", 1)[0].removesuffix(".py")
    if "/app/" in path:
        return "app"
    return "other"


def _module_times(frame: Any, into: Counter[str], ours: Counter[str]) -> float:
    """Add each `<module>` frame's own time (nested imports excluded) to its package
    (and, for ours, to its module); returns the time of the outermost `<module>`
    frames under `frame`."""
    if frame.function == "<module>":
        nested = sum(_module_times(child, into, ours) for child in frame.children)
        path = frame.file_path or ""
        package = _package(path)
        into[package] += frame.time - nested
        if package == "app":
            ours["app/" + path.split("/app/", 1)[1]] += frame.time - nested
        return float(frame.time)
    return float(sum(_module_times(child, into, ours) for child in frame.children))


def main() -> None:
    os.environ.setdefault("LEVELSTREAM_DATA_DIR", tempfile.mkdtemp(prefix="ls-cold-"))
    os.environ.setdefault("LEVELSTREAM_ADMIN_TOKEN", "lsa_" + "c" * 40)
    profiler = Profiler(interval=0.0005)
    phases: dict[str, float] = {}
    profiler.start()
    t0 = time.perf_counter()
    gc.disable()  # as `levelstream serve` imports
    import app.server.run  # noqa: F401
    from app.main import create_app
    from app.settings import Settings

    phases["import"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    application = create_app(Settings())
    phases["create_app"] = time.perf_counter() - t1

    async def start_and_stop() -> None:
        t2 = time.perf_counter()
        async with application.router.lifespan_context(application):
            phases["lifespan_start"] = time.perf_counter() - t2

    asyncio.run(start_and_stop())
    profiler.stop()
    packages: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    root = profiler.last_session.root_frame()
    if root is not None:
        _module_times(root, packages, modules)
    print(
        json.dumps(
            {
                "phases_s": {k: round(v, 4) for k, v in phases.items()},
                "import_s_by_package": {k: round(v, 4) for k, v in packages.most_common(15)},
                "import_s_of_app_modules": {k: round(v, 4) for k, v in modules.most_common(10)},
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
