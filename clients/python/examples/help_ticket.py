"""The help-ticket case: two agents edit one ticket, see each other's changes live,
and get a 412 instead of overwriting each other.

    LEVELSTREAM_URL=http://127.0.0.1:8000 LEVELSTREAM_TOKEN=<a key> python examples/help_ticket.py

Ann and Bob both watch ticket `t-...` (a snapshot, then live changes). Each reply is
a conditional write (`If-Match: "<rev>"`): Bob writes from the version he read, after
Ann already replied, so the server answers 412 and Bob's write does not clobber hers.
Bob takes the version his subscription has meanwhile delivered and replies on top.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from levelstream_client.api.documents import put_document
from levelstream_client.client import AuthenticatedClient
from levelstream_client.exceptions import PreconditionFailedError
from levelstream_client.models import Envelope
from levelstream_client.realtime import Change, RealtimeClient
from levelstream_client.sdk import connect

URL = os.environ.get("LEVELSTREAM_URL", "http://127.0.0.1:8000")
TOKEN = os.environ["LEVELSTREAM_TOKEN"]
COLLECTION = "tickets"


class Agent:
    def __init__(self, name: str, key: str) -> None:
        self.name, self.key = name, key
        self.api: AuthenticatedClient = connect(URL, TOKEN)
        self.realtime = RealtimeClient(URL, TOKEN)
        self.latest: Change | None = None  # the newest version this agent has seen
        self.updated = asyncio.Condition()

    async def watch(self) -> None:
        """Follow the ticket: a snapshot of it, then every change, live."""
        sub = await self.realtime.subscribe(collection=COLLECTION, key=self.key, snapshot=True)
        async for change in sub:
            print(f"  [{self.name} sees] rev {change.rev}: {change.value['replies']}")
            async with self.updated:
                self.latest = change
                self.updated.notify_all()

    async def wait_for_rev(self, rev: int) -> Change:
        async with self.updated:
            await asyncio.wait_for(
                self.updated.wait_for(lambda: self.latest is not None and self.latest.rev >= rev),
                10,
            )
        assert self.latest is not None
        return self.latest

    async def reply(self, text: str, based_on: Change) -> Envelope:
        """Append a reply, but only to the version `based_on` (else 412)."""
        ticket: dict[str, Any] = dict(based_on.value)
        ticket["replies"] = [*ticket["replies"], f"{self.name}: {text}"]
        written = await put_document.asyncio(
            COLLECTION, self.key, client=self.api, body=ticket, if_match=f'"{based_on.rev}"'
        )
        assert isinstance(written, Envelope)
        return written


async def main() -> None:
    key = f"t-{uuid.uuid4().hex[:8]}"
    opening = {"title": "Printer on fire", "status": "open", "replies": []}
    created = await put_document.asyncio(COLLECTION, key, client=connect(URL, TOKEN), body=opening)
    assert isinstance(created, Envelope)
    print(f"ticket {key} opened at rev {created.rev}")

    ann, bob = Agent("Ann", key), Agent("Bob", key)
    watchers = [asyncio.create_task(agent.watch()) for agent in (ann, bob)]
    try:
        # Both open the ticket and start typing from the same version.
        ann_view = await ann.wait_for_rev(created.rev)
        bob_view = await bob.wait_for_rev(created.rev)

        mine = await ann.reply("Unplugged it. Fire's out.", ann_view)
        print(f"Ann replied: rev {mine.rev}")
        await bob.wait_for_rev(mine.rev)  # Bob's screen shows Ann's reply, live

        try:
            await bob.reply("Calling the fire brigade!", bob_view)  # from the old version
            raise SystemExit("Bob overwrote Ann's reply: conditional writes are broken")
        except PreconditionFailedError as refused:
            print(f"Bob got 412: the ticket is at rev {refused.current_rev}, not {bob_view.rev}")

        latest = await bob.wait_for_rev(mine.rev)
        theirs = await bob.reply("Glad it's out; ordering a new printer.", latest)
        print(f"Bob replied on top of Ann's: rev {theirs.rev}")
        final = await ann.wait_for_rev(theirs.rev)
        assert len(final.value["replies"]) == 2, final.value
        print(f"final ticket: {final.value}")
    finally:
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        await ann.realtime.close()
        await bob.realtime.close()


if __name__ == "__main__":
    asyncio.run(main())
