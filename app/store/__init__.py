"""Storage: the `Store` interface, its core and its two backends.

`core/` decides what every write changes (once, for both backends);
`leveldb/` (embedded, the default) and `postgres/` (cluster mode) store it.
"""

from app.store.base import Store
from app.store.types import Change, ChangeFilter, KeyRange, RangeQuery, WriteOp

__all__ = ["Change", "ChangeFilter", "KeyRange", "RangeQuery", "Store", "WriteOp"]
