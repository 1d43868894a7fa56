"""The durable outbox of an offline client: queued writes, their optimistic effect, the
order they are sent in, and what a conflict does (hand-written; see offline.py).

Each queued write is sent once, in order, as a conditional write on the rev it was based
on, under its own idempotency key: a retry after a crash or a lost answer gets the
server's first answer again instead of writing twice. A 412 is a conflict for the app's
handler; the default keeps the server's document and the refused intent in `conflicts`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from levelstream_client.exceptions import LevelstreamError, error_from_response
from levelstream_client.offline_store import (
    LocalStore,
    OutboxEntry,
    StoredDoc,
    WriteOp,
    new_idempotency_key,
)

_KEEP: Any = object()


@dataclass(frozen=True)
class Conflict:
    """A queued write the server refused: `intent` (the op) and the server's document
    now (`server`, None if it does not exist). `error` is set instead for a refusal that
    is not a conflict (a rule, a bad value): then the handler is not asked."""

    intent: WriteOp
    server: StoredDoc | None
    error: str | None = None
    # Its id in the local store once recorded (`db.dismiss_conflict` takes it).
    id: int | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        server = (
            None if self.server is None else {"value": self.server.value, "rev": self.server.rev}
        )
        return {"intent": self.intent.to_json(), "server": server, "error": self.error}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conflict:
        server = data.get("server")
        stored = None if server is None else StoredDoc(server["value"], server["rev"])
        return cls(WriteOp.from_json(data["intent"]), stored, data.get("error"), data.get("id"))


@dataclass(frozen=True)
class Retry:
    """Send the intent again on the server's current rev; with `value`, send that instead
    (a merged value)."""

    value: Any = _KEEP


@dataclass(frozen=True)
class Drop:
    """Give the intent up: the server's document stands."""


Resolution = Retry | Drop
ConflictHandler = Callable[[Conflict], Resolution | Awaitable[Resolution]]


class TryLater(Exception):
    """The write could not be sent now (offline, server busy): it stays queued."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396, as the server applies PATCH."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


class Outbox:
    """The queue, in memory and in the store; every change is persisted before it shows."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.entries = store.load_outbox()

    # --- queueing and the optimistic view ----------------------------------------------

    def enqueue(
        self, ops: list[WriteOp], batch: bool, known_rev: Callable[[str, str], int | None]
    ) -> OutboxEntry:
        seen: set[tuple[str, str]] = set()
        for op in ops:
            target = (op.collection, op.key)
            if op.base is None and target not in seen:
                op.base = self._base_for(op, known_rev)
            seen.add(target)  # a later op on the key in one batch follows the first
        entry = self.store.add_entry(ops, batch)
        self.entries.append(entry)
        return entry

    def _base_for(self, op: WriteOp, known_rev: Callable[[str, str], int | None]) -> Any:
        for entry in reversed(self.entries):
            for index, earlier in enumerate(entry.ops):
                if (earlier.collection, earlier.key) == (op.collection, op.key):
                    if entry.revs is None:
                        return "chain"
                    rev = entry.revs[index]
                    return "absent" if rev is None else rev
        rev = known_rev(op.collection, op.key)
        if rev is not None:
            return rev
        return "absent" if op.op == "put" else None

    def touches(self, collection: str) -> set[str]:
        return {op.key for e in self.entries for op in e.ops if op.collection == collection}

    def overlay(self, collection: str, key: str, server: StoredDoc | None) -> tuple[bool, Any]:
        """(exists, value) of `key` once every queued write to it has applied."""
        exists, value = server is not None, None if server is None else server.value
        for entry in self.entries:
            for op in entry.ops:
                if (op.collection, op.key) != (collection, key):
                    continue
                if op.op == "put":
                    exists, value = True, op.value
                elif op.op == "delete":
                    exists, value = False, None
                elif exists:
                    value = merge_patch(value, op.value)
        return exists, value

    # --- answers ---------------------------------------------------------------------

    def first_unsent(self) -> OutboxEntry | None:
        return next((e for e in self.entries if e.acked_seq is None), None)

    def acknowledge(self, entry: OutboxEntry, seq: int, revs: list[int | None]) -> None:
        entry.acked_seq, entry.revs = seq, revs
        changed = [entry]
        for op, rev in zip(entry.ops, revs, strict=True):
            successor = self._chained_after(entry, op)
            if successor is not None:
                successor.base = "absent" if rev is None else rev
                changed.append(self._entry_of(successor))
        self.store.save_entries(changed)

    def drop(self, entry: OutboxEntry) -> None:
        """Give `entry` up; a write queued after it on the same key inherits its base
        (it was built on the dropped one, so it must meet the same check)."""
        changed = []
        for op in entry.ops:
            successor = self._chained_after(entry, op)
            if successor is not None:
                successor.base = op.base
                changed.append(self._entry_of(successor))
        self.entries.remove(entry)
        if changed:
            self.store.save_entries(changed)
        self.store.remove_entries([entry.id])

    def rebase(self, entry: OutboxEntry, index: int, server: StoredDoc | None, value: Any) -> None:
        """Retry `entry` with op `index` based on the server's document now: a new request,
        so a new idempotency key."""
        op = entry.ops[index]
        op.base = server.rev if server is not None else ("absent" if op.op == "put" else None)
        if value is not _KEEP:
            op.value = value
        entry.idempotency_key = new_idempotency_key()
        self.store.save_entries([entry])

    def settle(self, applied_seq: Callable[[str], int | None]) -> bool:
        """Forget acknowledged writes every replica of their collections has seen (their
        documents stop being `pending`); `applied_seq(collection)` is None without one."""
        done = []
        for entry in self.entries:
            if entry.acked_seq is None:
                continue
            seqs = [applied_seq(op.collection) for op in entry.ops]
            if all(seq is None or seq >= entry.acked_seq for seq in seqs):
                done.append(entry)
        if done:
            self.store.remove_entries([e.id for e in done])
            self.entries = [e for e in self.entries if e not in done]
        return bool(done)

    def _chained_after(self, entry: OutboxEntry, op: WriteOp) -> WriteOp | None:
        for later in self.entries[self.entries.index(entry) + 1 :]:
            for candidate in later.ops:
                if (candidate.collection, candidate.key) == (op.collection, op.key):
                    return candidate if candidate.base == "chain" else None
        return None

    def _entry_of(self, op: WriteOp) -> OutboxEntry:
        return next(e for e in self.entries if any(o is op for o in e.ops))


# --- sending ---------------------------------------------------------------------------


def _docs_path(collection: str, key: str) -> str:
    return f"/v1/collections/{quote(collection, safe='')}/docs/{quote(key, safe='')}"


async def send(http: httpx.AsyncClient, entry: OutboxEntry) -> tuple[int, list[int | None]]:
    """Send one entry; (seq, each op's new rev). Raises TryLater, or the refusal."""
    headers = {"Idempotency-Key": entry.idempotency_key}
    only = entry.ops[0]
    try:
        if not entry.batch and only.op == "put" and only.base == "absent":
            # A batch cannot say "must not exist"; PUT can.
            headers["If-None-Match"] = "*"
            path = _docs_path(only.collection, only.key)
            response = await http.put(path, json=only.value, headers=headers)
        else:
            body = {"ops": [_batch_op(op) for op in entry.ops]}
            response = await http.post("/v1/batch", json=body, headers=headers)
    except httpx.TransportError as exc:
        raise TryLater(str(exc)) from exc
    if response.status_code in (401, 408, 409, 425, 429) or response.status_code >= 500:
        raise TryLater(f"the server answered {response.status_code}")
    if response.status_code >= 400:
        raise error_from_response(response)
    answer = response.json()
    if "results" not in answer:
        return int(answer["rev"]), [int(answer["rev"])]
    revs = [None if r.get("deleted") else int(r["rev"]) for r in answer["results"]]
    return int(answer["seq"]), revs


def _batch_op(op: WriteOp) -> dict[str, Any]:
    out: dict[str, Any] = {"op": op.op, "collection": op.collection, "key": op.key}
    if op.op != "delete":
        out["value"] = op.value
    if isinstance(op.base, int):
        out["if_rev"] = op.base
    return out


async def current_doc(http: httpx.AsyncClient, collection: str, key: str) -> StoredDoc | None:
    try:
        response = await http.get(_docs_path(collection, key))
    except httpx.TransportError as exc:
        raise TryLater(str(exc)) from exc
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise TryLater(f"the server answered {response.status_code}")
    body = response.json()
    return StoredDoc(body.get("value"), int(body["rev"]))


async def resolve(handler: ConflictHandler, conflict: Conflict) -> Resolution:
    answer = handler(conflict)
    resolution = await answer if inspect.isawaitable(answer) else answer
    if not isinstance(resolution, Retry | Drop):
        raise TypeError(f"a conflict handler returns Retry(...) or Drop(), not {resolution!r}")
    return resolution


def refusal_index(error: LevelstreamError) -> int:
    index = error.problem.get("op_index", 0)
    return index if isinstance(index, int) else 0
