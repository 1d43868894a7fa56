"""A notes app on the Python SDK's offline client, driven line by line (JSON on stdin,
JSON on stdout) by tests/test_sdk_python_offline.py, which kills and restarts it and the
server under it.

    python tests/sdk_offline_client.py URL TOKEN STORE_PATH COLLECTION WHERE

Its conflict handler prints the conflict and retries with a merged text.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from levelstream_client.offline import Conflict, LiveQuery, OfflineClient, Retry, WriteOp


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def merge_texts(conflict: Conflict) -> Retry:
    server = conflict.server
    say(
        {
            "event": "conflict",
            "intent": conflict.intent.to_json(),
            "server": None if server is None else {"value": server.value, "rev": server.rev},
        }
    )
    mine = conflict.intent.value.get("text", "") if isinstance(conflict.intent.value, dict) else ""
    theirs = server.value.get("text", "") if server is not None else ""
    return Retry(value={"text": f"{theirs} | {mine}"})


def view(db: OfflineClient, notes: LiveQuery) -> dict[str, Any]:
    items = [
        {"key": d.key, "value": d.value, "rev": d.rev, "pending": d.pending} for d in notes.items()
    ]
    status = db.status
    return {"seq": notes.seq, "items": items, "state": status.state, "pending": status.pending}


async def main(url: str, token: str, path: str, collection: str, where: str) -> None:
    loop = asyncio.get_running_loop()
    async with OfflineClient(url, token, store=path, on_conflict=merge_texts) as db:
        notes = await db.collection(collection).where(where).live()
        say({"event": "open", **view(db, notes)})
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            name = command.pop("cmd")
            if name == "put":
                db.put(collection, command["key"], command["value"])
            elif name == "patch":
                db.patch(collection, command["key"], command["value"])
            elif name == "delete":
                db.delete(collection, command["key"])
            elif name == "batch":
                db.batch(
                    [
                        WriteOp(op["op"], collection, op["key"], op.get("value"))
                        for op in command["ops"]
                    ]
                )
            elif name == "wait_synced":
                await db.wait_synced(command.get("timeout", 30))
            say({"event": name, **view(db, notes)})


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
