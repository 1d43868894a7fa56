"""The cluster store: documents, the change log and auth records in PostgreSQL.

Every node of a cluster runs a `PgStore` on the same database. The one global,
gap-free seq is a single row (`ls_meta`) locked by every write transaction, so
commits are serialized in seq order across all nodes; each node's listeners are
fed from the shared change log (woken by LISTEN/NOTIFY), in seq order.
"""

from app.store.postgres.store import PgStore

__all__ = ["PgStore"]
