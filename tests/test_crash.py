"""kill -9: acknowledged writes survive SIGKILL, the log stays whole, subscribers resume exactly.

Writers (puts, If-Match puts, deletes, POSTs, batches on shared keys) run while the
server is killed with SIGKILL, round after round, alternating the durability
mode (LevelDB survives a process crash in both: only a power loss tells them
apart, tests/test_fault_power.py). A WS subscriber and an SSE subscriber (with a
prefix filter) resume from their last seq after every restart. After each
restart the history checker (tests/history/checker.py) judges everything so
far; at the end the subscribers must have caught up with the whole log.
"""

from __future__ import annotations

import random
import time

from tests.helpers import read_range
from tests.history.campaign import Campaign, rounds
from tests.server import ServerProcess

ROUNDS = rounds(ci=12, soak_scale=40)  # a round takes a second or two


def test_acknowledged_writes_survive_sigkill(fresh_server: ServerProcess) -> None:
    rng = random.Random(20261125)
    campaign = Campaign(fresh_server, "crash", seed=rng.randrange(2**32))
    fresh_server.start()
    campaign.started()
    for round_no in range(ROUNDS):
        with campaign.writing():
            time.sleep(rng.uniform(0.1, 0.35))
            killed = campaign.mark("fault")
            fresh_server.kill()
        fresh_server.env["LEVELSTREAM_DURABILITY"] = "async" if round_no % 2 == 0 else "sync"
        fresh_server.start()
        campaign.recovered.append(campaign.mark("recovered") - killed)  # restarted, ready
        campaign.started()
        campaign.verdict().assert_ok()
    report = campaign.verdict(final=True)
    campaign.save("kill -9", ROUNDS, report)
    report.assert_ok()
    assert report.writes["ok"] >= ROUNDS * 5, "too few writes were acknowledged to mean much"
    assert report.writes["unknown"] >= 1 and report.deliveries >= report.changes
    with fresh_server.client() as client:
        items = read_range(client, "crash")
        counts = {c["name"]: c["count"] for c in client.get("/v1/collections").json()["items"]}
    assert counts.get("crash", 0) == len(items)
    # Server-chosen keys sort by creation, across crashes too.
    posted = sorted((i["rev"], i["key"]) for i in items if not i["key"].startswith("k"))
    assert [k for _, k in posted] == sorted(k for _, k in posted)
    fresh_server.stop()
