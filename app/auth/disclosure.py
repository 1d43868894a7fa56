"""What the answer to a write may show its caller: decided here, for every write path.

A write's answer normally carries the document as it now is (a PATCH `{}`
returns the whole current value), and a failed condition names the current
revision. Both are reads. A caller without `read` on the collection (a
write-only or delete-only key) gets only what its own write made: the
document's name and the new `rev` (and `deleted` for a delete); a failed
condition names no revision, and its answer is the same whether the document
exists at another revision or not at all. REST single-document writes
(`app/api/doc_ops.py`), `POST /v1/batch` and the WebSocket write ops all
render through these two functions.

Rules (`app/auth/rules.py`) narrow this per document: a write whose rule guard
found the document unreadable before it (`read` false) refuses without a
revision, and one that leaves it unreadable answers without its value
(`unreadable_result`).
"""

from __future__ import annotations

import orjson

from app.auth.principal import Principal
from app.auth.rules import OpGuard
from app.errors import LevelstreamError, PreconditionFailed
from app.store.types import OpResult, WriteOp


def shown_result(principal: Principal, result: OpResult) -> bytes:
    """The JSON of one op's result, as `principal` may see it."""
    if principal.may("read", result.collection):
        return result.body
    shown: dict[str, object] = {"collection": result.collection, "key": result.key}
    shown["rev"] = result.rev
    if result.deleted:
        shown["deleted"] = True
    return orjson.dumps(shown)


def unreadable_result(op: WriteOp, result: OpResult) -> OpResult:
    """`result`, without the value when the op's rule guard found the result unreadable."""
    if not isinstance(op.guard, OpGuard) or op.guard.new_visible or result.deleted:
        return result
    body = orjson.dumps({"collection": result.collection, "key": result.key, "rev": result.rev})
    return OpResult(result.collection, result.key, result.rev, body, created=result.created)


def shown_refusal(principal: Principal, ops: list[WriteOp], exc: LevelstreamError) -> None:
    """Strip from a refused write's error (in place) what `principal` may not read.

    `ops` are the refused transaction's ops; the error names the failing one by
    `op_index` when there are several.
    """
    if not isinstance(exc, PreconditionFailed) or not ops:
        return
    index = exc.extra.get("op_index", 0)
    op = ops[index] if isinstance(index, int) and 0 <= index < len(ops) else ops[0]
    hidden = isinstance(op.guard, OpGuard) and not op.guard.current_visible
    if principal.may("read", op.collection) and not hidden:
        return
    exc.extra.pop("current_rev", None)
    # One detail for "another rev", "missing" and "exists": the text must not tell them apart.
    prefix = f"op {index}: " if "op_index" in exc.extra else ""
    exc.detail = f"{prefix}the condition on document {op.key!r} does not hold"
