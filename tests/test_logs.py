"""The diagnostics format: one JSON object per record, keys in a fixed order, with the
request id of the request being served (the format structlog wrote before)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from app.logs import JsonLines, bind_request


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("levelstream.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield out
    finally:
        logger.removeHandler(handler)


def records(out: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_record_is_one_json_line_in_a_fixed_key_order(lines: io.StringIO) -> None:
    log = logging.getLogger("levelstream.test_logs")
    log.warning("disk %s at %d%%", "data", 93)
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed")
    log.error("no exception to show", exc_info=True)
    plain, failed, without = records(lines)
    assert list(plain) == ["event", "level", "logger", "timestamp"]
    assert plain["event"] == "disk data at 93%" and plain["level"] == "warning"
    assert plain["logger"] == "levelstream.test_logs"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", plain["timestamp"])
    assert list(failed) == ["event", "level", "logger", "timestamp", "exception"]
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert failed["exception"].endswith("ValueError: bad")
    assert "exception" not in without


async def test_records_carry_the_request_id_of_their_own_request(lines: io.StringIO) -> None:
    log = logging.getLogger("levelstream.test_logs")

    async def serve(request_id: str, delay: float) -> None:
        bind_request(request_id)
        await asyncio.sleep(delay)
        log.info("served %s", request_id)

    await asyncio.gather(serve("r-1", 0.02), serve("r-2", 0.0))
    log.info("outside")
    second, first, outside = records(lines)
    assert list(first) == ["event", "request_id", "level", "logger", "timestamp"]
    assert (first["event"], first["request_id"]) == ("served r-1", "r-1")
    assert (second["event"], second["request_id"]) == ("served r-2", "r-2")
    assert "request_id" not in outside
