"""Issue 16's numbers for the JS SDK in Chromium: open a live query over --docs documents from
the IndexedDB replica after a reload, resume after --missed changes, show an optimistic write.

    .venv/bin/python -m bench.sdk.offline_browser --docs 10000 --missed 1000

Needs clients/js built (npm run build) and Debian's chromium. Prints the numbers as JSON and
a line per target (docs/performance.md).
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import subprocess
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.server import ADMIN_TOKEN, ROOT, ServerProcess

HERE = Path(__file__).resolve().parent
BUNDLE = ROOT / "clients" / "js" / "dist" / "levelstream.browser.js"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def batches(client: httpx.Client, ops: list[dict[str, Any]]) -> int:
    seq = 0
    for start in range(0, len(ops), 1000):
        answer = client.post("/v1/batch", json={"ops": ops[start : start + 1000]})
        answer.raise_for_status()
        seq = int(answer.json()["seq"])
    return seq


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--missed", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        shutil.copy(HERE / "blank.html", site / "index.html")
        shutil.copy(BUNDLE, site / "levelstream.browser.js")
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        page = f"http://127.0.0.1:{httpd.server_address[1]}"
        server = ServerProcess(Path(tmp) / "data", LEVELSTREAM_ALLOWED_ORIGINS=page).start()
        try:
            with server.client() as client:
                docs = [
                    {
                        "op": "put",
                        "collection": "notes",
                        "key": f"n{i:05d}",
                        "value": {"title": f"note {i}", "n": i},
                    }
                    for i in range(args.docs)
                ]
                head = batches(client, docs)
                proc = subprocess.Popen(
                    [
                        "node",
                        str(HERE / "offline_browser.mjs"),
                        f"{page}/index.html",
                        server.url,
                        ADMIN_TOKEN,
                        "notes",
                        str(args.missed),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(f"{head}\n")
                proc.stdin.flush()
                for turn in range(2):  # as the server sends them, then held and handed over
                    assert json.loads(proc.stdout.readline())["step"] == "closed"
                    missed = [
                        {
                            "op": "put",
                            "collection": "notes",
                            "key": f"n{(turn * args.missed + i) % args.docs:05d}",
                            "value": {"title": "edited", "n": i, "turn": turn},
                        }
                        for i in range(args.missed)
                    ]
                    target = batches(client, missed)
                    proc.stdin.write(f"{target}\n")
                    proc.stdin.flush()
                result = json.loads(proc.stdout.readline())
                proc.stdin.close()
                proc.wait(timeout=60)
        finally:
            server.stop()
            httpd.shutdown()
    print(json.dumps(result, indent=1))
    reload, resume, held, opt = (
        result["reload"],
        result["resume"],
        result["resumeHeld"],
        result["optimistic"],
    )
    print(f"open {reload['size']} docs from IndexedDB after a reload: {reload['opened']:.1f} ms")
    print(
        f"resume after {args.missed} missed changes: {resume['caughtUp']:.1f} ms from open to"
        f" caught up, {resume['rate']:.0f} changes/s (connecting included)"
    )
    print(
        f"  first replayed change received to the last shown: {resume['apply']['ms']:.1f} ms,"
        f" {resume['applyRate']:.0f} changes/s (the server's replay pace included: the changes"
        f" arrived over {resume['apply']['arriving_ms']:.1f} ms)"
    )
    print(
        f"  apply alone (all {held['apply']['changes']} handed to the SDK at once, to the last"
        f" shown): {held['apply']['ms']:.1f} ms, {held['applyRate']:.0f} changes/s"
    )
    print(f"optimistic write shown: median {opt['median_ms']:.3f} ms, p99 {opt['p99_ms']:.3f} ms")


if __name__ == "__main__":
    main()
