from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security_helpers import Ledger, SecServer
from tests.server import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One shared real server for tests that only need isolation by collection."""
    proc = ServerProcess(tmp_path_factory.mktemp("shared") / "data").start()
    yield proc
    proc.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server with its own empty data directory, for tests that restart or kill it."""
    proc = ServerProcess(tmp_path / "data")
    yield proc
    if proc.proc is not None:
        proc.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture
def coll() -> str:
    """A collection name no other test uses."""
    return "c_" + uuid.uuid4().hex[:12]


# --- the security suite (tests/test_sec_*.py) ---------------------------------------------


@pytest.fixture(scope="session")
def sec_ledger() -> Iterator[Ledger]:
    """Every secret the security tests handle; after them, none may be in any log or data file."""
    ledger = Ledger()
    yield ledger
    # Teardown runs after every server that registered with the ledger has stopped.
    hits = ledger.hits()
    assert not hits, f"secrets found in logs or data files: {hits[:10]}"


@pytest.fixture(scope="session")
def sec_server(tmp_path_factory: pytest.TempPathFactory, sec_ledger: Ledger) -> Iterator[SecServer]:
    """A server with a trusted JWT issuer, an allowed origin, a known JWT secret, 3 s tickets."""
    server = SecServer.start(tmp_path_factory.mktemp("sec"), sec_ledger)
    yield server
    server.stop()
