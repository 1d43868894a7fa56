from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster_support import parametrize_stores, store_env
from tests.security_helpers import Ledger, SecServer
from tests.server import ServerProcess


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "leveldb_only: not run against the PostgreSQL store")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_stores(metafunc)  # modules in cluster_support.BOTH_STORES run on both stores


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test on its own server shows that server's log and the end of its change
    log: a rare failure (CI on a fresh machine) is then explained by its one run."""
    report: pytest.TestReport = yield
    server = getattr(item, "funcargs", {}).get("fresh_server")
    if report.failed and call.when == "call" and isinstance(server, ServerProcess):
        report.sections.append(("server log (this run's processes)", server.lifecycle_log()))
        report.sections.append(("the server's change log, last entries", server.log_end()))
    return report


@pytest.fixture(scope="module")
def store_kind(request: pytest.FixtureRequest) -> str:
    """`leveldb`, or `postgres` (PostgreSQL + Redis) where a module runs on both stores."""
    return str(getattr(request, "param", "leveldb"))


@pytest.fixture(scope="session")
def leveldb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("shared") / "data").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with store_env("postgres") as env:
        proc = ServerProcess(tmp_path_factory.mktemp("shared-pg") / "data", **env).start()
        yield proc
        proc.stop()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, store_kind: str) -> ServerProcess:
    """One shared real server (per store) for tests that only need isolation by collection."""
    proc: ServerProcess = request.getfixturevalue(f"{store_kind}_server")
    return proc


@pytest.fixture
def fresh_server(tmp_path: Path, store_kind: str) -> Iterator[ServerProcess]:
    """A server with its own empty database, for tests that restart or kill it."""
    with store_env(store_kind) as env:
        proc = ServerProcess(tmp_path / "data", **env)
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
