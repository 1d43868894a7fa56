"""Stall: the server SIGSTOPped for 5-30 s under load with WS and SSE subscribers, then SIGCONT.

Writers keep sending (their requests wait in the kernel's queues), subscribers
keep their connections (or reconnect and resume if one dropped). After each
stall the clients go on; at the end the history checker requires every write
accounted for and every subscriber exact: nothing lost, duplicated or reordered.
"""

from __future__ import annotations

import random
import signal
import time

from tests.history.campaign import Campaign, rounds
from tests.server import ServerProcess

ROUNDS = rounds(ci=1)


def test_clients_recover_exactly_after_a_stall(fresh_server: ServerProcess) -> None:
    rng = random.Random(1805)
    campaign = Campaign(fresh_server, "stall", seed=rng.randrange(2**32))
    fresh_server.start()
    campaign.started()
    assert fresh_server.proc is not None
    pid = fresh_server.proc.pid
    # CI: one 5 s stall; the soak profile draws 5-30 s.
    stall_s = [5.0] if ROUNDS == 1 else [rng.uniform(5, 30) for _ in range(ROUNDS)]
    for seconds in stall_s:
        with campaign.writing():
            time.sleep(0.5)
            fresh_server.proc.send_signal(signal.SIGSTOP)
            time.sleep(seconds)
            fresh_server.proc.send_signal(signal.SIGCONT)
            time.sleep(1.0)  # the load goes on after the stall
        assert fresh_server.proc.pid == pid and fresh_server.proc.poll() is None
    report = campaign.verdict(final=True)
    report.assert_ok()
    assert report.writes["ok"] >= 20 and report.deliveries >= report.changes
