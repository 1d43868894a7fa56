"""Imports trust nothing in a backup: a bad header, document or duplicate changes nothing.

The header's epoch goes into every response's `X-Levelstream-Epoch` header and
into JSON bodies, for good: it is checked field by field, over HTTP and in the
offline `levelstream import` alike, and a refused import leaves the database
empty, with its own epoch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import assert_problem
from tests.server import ServerProcess
from tests.test_cli import cli

EPOCH = "0123456789abcdef"
NDJSON = {"Content-Type": "application/x-ndjson"}

BAD_HEADERS = [
    b'{"epoch": "0123456789abcdef\\r\\nX-Evil: 1", "seq": 0}',  # CR/LF into a header
    b'{"epoch": "0123456789ABCDEF", "seq": 0}',  # not as generated
    b'{"epoch": "0123456789abcde", "seq": 0}',
    b'{"epoch": "", "seq": 0}',
    b'{"epoch": 12, "seq": 0}',
    b'{"epoch": "0123456789abcdef", "seq": -1}',
    b'{"epoch": "0123456789abcdef", "seq": 9223372036854775807}',
    b'{"epoch": "0123456789abcdef", "seq": 18446744073709551615}',
    b'{"epoch": "0123456789abcdef", "seq": true}',
    b'{"epoch": "0123456789abcdef", "seq": 1.5}',
    b'{"epoch": "0123456789abcdef", "seq": "1"}',
    b'{"epoch": "0123456789abcdef"}',
    b'{"seq": 0}',
    b'{"epoch": "0123456789abcdef", "seq": 0, "extra": 1}',
    b'["0123456789abcdef", 0]',
    b"not json at all",
    b'{"epoch": "0123456789abcdef", "seq": 0',
]


def envelope(collection: str, key: str, value: Any = 1) -> bytes:
    ts = "2026-11-25T17:00:00.123Z"
    return json.dumps(
        {
            "collection": collection,
            "key": key,
            "value": value,
            "rev": 1,
            "created_at": ts,
            "updated_at": ts,
        }
    ).encode()


def backup(*documents: bytes, header: bytes | None = None) -> bytes:
    first = header if header is not None else json.dumps({"epoch": EPOCH, "seq": 7}).encode()
    return b"\n".join([first, *documents]) + b"\n"


@pytest.fixture(params=["leveldb", "postgres"])
def empty_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    from tests.cluster_support import store_env

    with store_env(request.param) as env:
        proc = ServerProcess(tmp_path / "data", **env).start()
        try:
            yield proc
        finally:
            proc.stop()


def assert_untouched(server: ServerProcess, epoch: str) -> None:
    with server.client() as client:
        for path in ("/healthz", "/readyz"):
            answer = client.get(path)
            assert answer.status_code == 200
            assert answer.headers["x-levelstream-epoch"] == epoch
        assert client.get("/v1/changes", params={"collection": "*"}).json()["head_seq"] == 0
        header = client.get("/v1/admin/export").content.split(b"\n")[0]
        assert json.loads(header) == {"epoch": epoch, "seq": 0}


def test_a_bad_header_is_refused_and_changes_nothing(empty_server: ServerProcess) -> None:
    with empty_server.client() as client:
        epoch = client.get("/healthz").headers["x-levelstream-epoch"]
        for header in BAD_HEADERS:
            body = backup(envelope("imp", "a"), header=header)
            answer = client.post("/v1/admin/import", content=body, headers=NDJSON)
            problem = assert_problem(answer, 422, "validation_failed")
            assert "line 1" in problem["detail"], header
            assert_untouched(empty_server, epoch)
        empty = client.post("/v1/admin/import", content=b"\n\n", headers=NDJSON)
        assert_problem(empty, 422, "validation_failed")
        # Still empty: a good backup loads, with its own identity.
        good = client.post("/v1/admin/import", content=backup(envelope("imp", "a")), headers=NDJSON)
        assert good.status_code == 200, good.text
        assert good.json() == {"imported": 1, "epoch": EPOCH, "seq": 7}
        assert client.get("/healthz").headers["x-levelstream-epoch"] == EPOCH


def test_a_document_given_twice_is_refused_and_nothing_is_written(
    empty_server: ServerProcess,
) -> None:
    with empty_server.client() as client:
        epoch = client.get("/healthz").headers["x-levelstream-epoch"]
        twice = backup(envelope("imp", "a"), envelope("imp", "b"), envelope("imp", "a", 2))
        problem = assert_problem(
            client.post("/v1/admin/import", content=twice, headers=NDJSON),
            422,
            "validation_failed",
        )
        assert "line 4" in problem["detail"]
        assert client.get("/v1/collections/imp/docs/a").status_code == 404
        assert_untouched(empty_server, epoch)

        # A bad document after more than one write's worth of good ones: nothing written.
        many = [envelope("imp", f"k{i:05d}") for i in range(2500)]
        late = backup(*many, b'{"collection": "imp", "key": "late"}')
        problem = assert_problem(
            client.post("/v1/admin/import", content=late, headers=NDJSON),
            422,
            "validation_failed",
        )
        assert "line 2502" in problem["detail"]
        assert client.get("/v1/collections/imp/docs/k00000").status_code == 404
        assert_untouched(empty_server, epoch)

        # The same key in another collection is another document.
        fine = backup(*many, envelope("other", "k00000"))
        loaded = client.post("/v1/admin/import", content=fine, headers=NDJSON)
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["imported"] == 2501
        assert client.get("/v1/collections/other/docs/k00000").status_code == 200
        assert client.get("/v1/collections/imp/docs/k02499").status_code == 200


def test_the_offline_import_checks_the_same(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = tmp_path / "backup.ndjson"
    for bad in (
        backup(envelope("imp", "a"), header=BAD_HEADERS[0]),
        backup(envelope("imp", "a"), header=b"not json at all"),
        backup(envelope("imp", "a"), envelope("imp", "a", 2)),
    ):
        path.write_bytes(bad)
        refused = cli(data, "import", "--input", str(path))
        assert refused.returncode == 1
        assert refused.stderr.startswith("error: line "), refused.stderr
        assert "Traceback" not in refused.stderr
    server = ServerProcess(data).start()
    try:
        epoch = server.client().get("/healthz").headers["x-levelstream-epoch"]
        assert epoch != EPOCH
        assert_untouched(server, epoch)
    finally:
        server.stop()
    path.write_bytes(backup(envelope("imp", "a"), envelope("imp", "b")))
    done = cli(data, "import", "--input", str(path))
    assert done.returncode == 0, done.stderr
    assert "imported 2 documents" in done.stdout


def test_an_import_into_a_database_with_an_index_is_refused(empty_server: ServerProcess) -> None:
    """An import writes no index entries, so an index defined before it would answer
    wrong: the import is refused until the index is dropped, and then succeeds."""
    with empty_server.client() as client:
        made = client.put("/v1/collections/imp/indexes/by_n", json={"fields": ["n"]})
        assert made.status_code == 201, made.text
        refused = client.post(
            "/v1/admin/import", content=backup(envelope("imp", "a")), headers=NDJSON
        )
        assert refused.status_code == 409, refused.text
        assert "no indexes" in refused.json()["detail"]
        assert client.get("/v1/collections/imp/docs/a").status_code == 404
        assert client.delete("/v1/collections/imp/indexes/by_n").status_code == 204
        loaded = client.post(
            "/v1/admin/import", content=backup(envelope("imp", "a")), headers=NDJSON
        )
        assert loaded.status_code == 200, loaded.text
        assert client.get("/v1/collections/imp/docs/a").status_code == 200
