"""The real-time load generator's loss check (bench.rtgen.clients.Tracker).

Every subscriber must get every write exactly once and in the one order the
server gave them: a missing change, a repeat or a reorder is found and counted,
also when a repeat would make a plain count of deliveries come out right.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from picows import WSMsgType
from picows.picows import _make_test_ws_frame

from bench.payload import numbered
from bench.rtgen.clients import SseSub, Stray, Tracker, WsSub


@dataclass
class Sub:
    ready: bool = True
    gone: bool = False
    count: int = 0
    stray: Stray | None = field(default=None)


def run(sequences: list[list[int]], interleave: bool = True) -> tuple[Tracker, list[Sub]]:
    """Deliver each subscriber its sequence of write numbers (round robin when `interleave`)."""
    tracker = Tracker()
    subs = [Sub() for _ in sequences]
    tracker.subs = subs
    tracker.reset()
    if interleave:
        for i in range(max(len(s) for s in sequences)):
            for sub, seq in zip(subs, sequences, strict=True):
                if i < len(seq):
                    tracker.deliver(sub, numbered(seq[i], 5))
    else:
        for sub, seq in zip(subs, sequences, strict=True):
            for wn in seq:
                tracker.deliver(sub, numbered(wn, 5))
    return tracker, subs


def test_every_write_once_in_order_is_clean() -> None:
    tracker, _ = run([list(range(50))] * 4)
    assert tracker.check(50) == {"missing": 0, "duplicates": 0, "out_of_order_subs": 0}
    assert tracker.delivered == 200
    assert tracker.completed == 50


def test_a_missing_write_is_counted() -> None:
    tracker, _ = run([[0, 1, 2, 3], [0, 1, 3], [0, 1, 2, 3]])
    check = tracker.check(4)
    assert check["missing"] == 1
    assert check["out_of_order_subs"] == 1


def test_a_repeat_cannot_hide_a_missing_write() -> None:
    # Four deliveries each: a count alone would call the second subscriber complete.
    tracker, _ = run([[0, 1, 2, 3], [0, 1, 1, 3, 3]])
    check = tracker.check(4)
    assert check["duplicates"] == 2
    assert check["missing"] == 1
    assert tracker.delivered == 4 + 3


def test_a_reorder_is_found_even_when_the_odd_one_arrives_first() -> None:
    # The first subscriber fixes the common order as it goes; it is the odd one out.
    tracker, _ = run([[1, 0, 2], [0, 1, 2], [0, 1, 2]], interleave=False)
    check = tracker.check(3)
    assert check == {"missing": 0, "duplicates": 0, "out_of_order_subs": 1}


def test_a_subscriber_behind_the_others_is_missing_its_tail() -> None:
    tracker, _ = run([[0, 1, 2, 3, 4], [0, 1]])
    assert tracker.check(5)["missing"] == 3


def test_a_change_never_written_does_not_count_as_received() -> None:
    # check(writes) after 3 writes: a number >= 3 is not one of them.
    tracker, _ = run([[0, 1, 7], [0, 1, 7]])
    assert tracker.check(3)["missing"] == 2


def test_the_window_opens_once_per_write_that_reached_everyone() -> None:
    async def main() -> None:
        tracker = Tracker()
        subs = [Sub(), Sub()]
        tracker.subs = subs
        window = asyncio.Semaphore(0)
        tracker.reset(window=window)
        tracker.expect = 2
        tracker.deliver(subs[0], numbered(0))
        assert window.locked()  # not yet: one subscriber still waits for it
        tracker.deliver(subs[1], numbered(0))
        assert not window.locked()
        await asyncio.wait_for(window.acquire(), 1)
        tracker.deliver(subs[1], numbered(1))
        tracker.deliver(subs[0], numbered(1))
        await asyncio.wait_for(tracker.all_done.wait(), 1)

    asyncio.run(main())


class Answers:
    """What a subscriber sends back through its picows transport (the close answer)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []

    def send_close(self, code: int) -> None:
        self.calls.append(("send_close", int(code)))

    def disconnect(self) -> None:
        self.calls.append(("disconnect", None))


def test_a_websocket_subscriber_counts_change_frames_only() -> None:
    async def main() -> Tracker:
        tracker = Tracker()
        sub = WsSub(tracker, "ls", None)
        sub.on_ws_connected(transport=None)  # no subscribe frame: ready at once
        tracker.subs = [sub]
        tracker.reset()
        for wn in range(3):
            change = b'{"type":"change","sub":"s","seq":%d,"value":%s}' % (wn + 1, numbered(wn))
            sub.on_ws_frame(None, _make_test_ws_frame(WSMsgType.TEXT, change, True, False))
        reply = b'{"type":"reply","id":2,"ok":true}'
        sub.on_ws_frame(None, _make_test_ws_frame(WSMsgType.TEXT, reply, True, False))
        close = b"\x03\xe8bye"
        answered = Answers()
        sub.on_ws_frame(answered, _make_test_ws_frame(WSMsgType.CLOSE, close, True, False))
        assert sub.close_code == 1000
        assert answered.calls == [("send_close", 1000), ("disconnect", None)]
        return tracker

    tracker = asyncio.run(main())
    assert tracker.delivered == 3
    assert tracker.unexpected == 0
    assert tracker.check(3) == {"missing": 0, "duplicates": 0, "out_of_order_subs": 0}


def sse_event(wn: int) -> bytes:
    """One change as Levelstream's SSE stream sends it: a chunk of the chunked body."""
    data = b'{"type":"change","seq":%d,"value":%s}' % (wn + 1, numbered(wn))
    body = b"id: %d\nevent: change\ndata: %s\n\n" % (wn + 1, data)
    return b"%x\r\n%s\r\n" % (len(body), body)


async def sse_reads(reads: list[bytes]) -> Tracker:
    tracker = Tracker()
    sub = SseSub(tracker, b"")
    tracker.subs = [sub]
    sub.data_received(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    sub.data_received(b"8\r\nretry: 1\r\n")
    tracker.reset()
    for read in reads:
        sub.data_received(read)
    return tracker


def test_an_sse_subscriber_takes_a_change_cut_anywhere_between_reads() -> None:
    body = b"".join(sse_event(wn) for wn in range(3))
    for cut in range(1, len(body)):
        tracker = asyncio.run(sse_reads([body[:cut], body[cut:]]))
        assert tracker.delivered == 3, cut
        assert tracker.check(3) == {"missing": 0, "duplicates": 0, "out_of_order_subs": 0}


def test_an_sse_subscriber_takes_many_changes_per_read() -> None:
    tracker = asyncio.run(sse_reads([b"".join(sse_event(wn) for wn in range(40))]))
    assert tracker.delivered == 40
    assert tracker.check(40) == {"missing": 0, "duplicates": 0, "out_of_order_subs": 0}
