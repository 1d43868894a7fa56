"""What our protocols rely on in other libraries' private code, checked at start."""

from __future__ import annotations

import dis
from collections.abc import Iterable
from typing import Any


def stored_attributes(function: Any) -> set[str]:
    """The attribute names `function` assigns (`self.x = ...`): what a constructor of
    ours that replaces another library's must assign as well."""
    return {i.argval for i in dis.get_instructions(function) if i.opname == "STORE_ATTR"}


def missing_internals(
    cls: type, methods: Iterable[str], fields: Iterable[str], set_in: Iterable[str]
) -> list[str]:
    """Of another library's private names our protocols rely on, those its installed
    version lacks: `methods` the class must have, and instance `fields` its `set_in`
    methods must assign (names a method's code stores or loads are in its co_names)."""
    missing = [
        f"{cls.__name__}.{name}" for name in methods if not callable(getattr(cls, name, None))
    ]
    assigned: set[str] = set()
    for method in set_in:
        code = getattr(getattr(cls, method, None), "__code__", None)
        if code is not None:
            assigned.update(code.co_names)
    missing += [f"{cls.__name__}.{name}" for name in fields if name not in assigned]
    return missing
