"""The embedded store on LevelDB: its key layout, its writer thread, its scans.

The rules of a change live in `app.store.core`; this package stores the core's
mutations as LevelDB keys (`layout`) in one write batch per group (`writer`).
"""

from app.store.leveldb.store import (
    FORMAT_VERSION,
    LevelStore,
    held_by_another_process,
    in_use_message,
)

__all__ = ["FORMAT_VERSION", "LevelStore", "held_by_another_process", "in_use_message"]
