"""Storage: the `Store` interface and its LevelDB implementation."""

from app.store.base import Store
from app.store.types import Change, ChangeFilter, KeyRange, RangeQuery, WriteOp

__all__ = ["Change", "ChangeFilter", "KeyRange", "RangeQuery", "Store", "WriteOp"]
