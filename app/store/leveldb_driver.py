"""The one place that imports the LevelDB binding; the store's modules take `plyvel` from here.

plyvel 1.5.1 ships wheels up to CPython 3.12 only; plyvel-next 2.1.2 (plyvel's own code
line, the same API, imported as `plyvel_next`) ships them for 3.12 to 3.14.
pyproject.toml installs plyvel below 3.13 and plyvel-next from 3.13 on, and this picks
the one that is there. `LEVELSTREAM_LEVELDB_DRIVER=plyvel_next` (or `plyvel`) forces one:
`make test` runs the store's contract tests on plyvel-next under 3.12 too, where both install.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

__all__ = ["DRIVER", "DRIVERS", "plyvel"]

DRIVERS = ("plyvel", "plyvel_next")
DRIVER = os.environ.get("LEVELSTREAM_LEVELDB_DRIVER") or (
    "plyvel_next" if sys.version_info >= (3, 13) else "plyvel"
)

if TYPE_CHECKING:
    import plyvel
elif DRIVER == "plyvel_next":
    import plyvel_next as plyvel
elif DRIVER == "plyvel":
    import plyvel
else:
    raise RuntimeError(
        f"LEVELSTREAM_LEVELDB_DRIVER={DRIVER!r}: expected one of {', '.join(DRIVERS)}"
    )
