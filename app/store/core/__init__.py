"""The store core: what makes a change, written once for both backends.

`txn` holds the rules of one transaction (validation of results, preconditions,
merge patch, TTL, server-chosen keys, rev = seq, envelope and change bytes, the
transaction byte budget); `group` applies a writer's queued transactions as one
group; `mutations` is the typed boundary: what a backend reads for the core
(`DocReader`) and what it stores afterwards (`Mutations`). No LevelDB key and no
SQL in here: `app.store.leveldb` and `app.store.postgres` store the mutations
in their own shapes.
"""

from app.store.core.group import STOP, Group, Job, Outcome, resolve, take_group
from app.store.core.mutations import DocId, DocReader, DocWrite, Mutations, NotLoaded
from app.store.core.txn import first_auto_id, keys_from, planned_keys

__all__ = [
    "STOP",
    "DocId",
    "DocReader",
    "DocWrite",
    "Group",
    "Job",
    "Mutations",
    "NotLoaded",
    "Outcome",
    "first_auto_id",
    "keys_from",
    "planned_keys",
    "resolve",
    "take_group",
]
