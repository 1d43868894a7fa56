"""Rules as data: per-collection-glob CEL rules, versioned, kept in the store, enforced
for every credential but `admin`, after permissions and scopes.

A rule is `{"read", "create", "update", "delete"}` for a collection glob; each entry
is an optional CEL expression over `doc`, `key`, `rev`, `new`, `op` and `auth`,
compiled once when saved (`app.cel`). Every rule whose glob matches a collection
applies, and an entry must hold in each of them that has it: adding a rule never
widens what anyone may do.

This module is the one place rules are decided; every path calls it:
- reads: `RuleSet.read_check` (GET, WS get, range reads) answers whether a document
  is visible; an invisible one is answered like a missing one;
- writes: `RuleSet.write_guard` builds the per-op `WriteOp.guard` that the store core
  calls inside the write transaction with the current value (`app/store/core/txn.py`),
  so a rule judges the document as it is when the write applies, atomically;
- live reads: `RuleSet.live_filter` is what changes, SSE and WS subscriptions (and
  their snapshots) see: their `where` and the `read` rules, with enter/leave events
  when a document's visibility changes (`app/store/core/events.py`).

The whole rule set is one store record (`RECORD`), with its version, so a set and
its version are always read together; `RuleBook` caches it and writes it through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from app.auth.principal import Principal, matches_any
from app.cel import RULE_VARIABLES, Program, compile_expression, compiled, conjoin, specialize
from app.cel.nodes import Expr
from app.errors import Forbidden, NotFound, ValidationFailed
from app.store.base import Store
from app.store.types import DocMatch, WriteOp

RECORD = "rules:set"
Entry = Literal["read", "create", "update", "delete"]
ENTRIES: tuple[Entry, ...] = ("read", "create", "update", "delete")
MAX_RULES = 1000
# Specialised rules kept per rule set (principal x collection); cleared when full.
MAX_BOUND = 4096
_WILDCARDS = "*?["
# What a `read` rule sees of the write variables: none is being written.
_READ_BINDINGS = {"op": "read", "new": None}


class RuleSpec(BaseModel):
    """The body of `PUT /v1/rules/{glob}`: each entry a CEL expression; absent: no rule."""

    model_config = ConfigDict(extra="forbid")

    read: str | None = Field(None, description="Which documents a caller may read")
    create: str | None = Field(None, description="Whether a new document (`new`) may be written")
    update: str | None = Field(None, description="Whether `doc` may be replaced by `new`")
    delete: str | None = Field(None, description="Whether `doc` may be deleted")


class RuleView(RuleSpec):
    """A rule as listed: its glob, its entries and the rule set's version."""

    glob: str
    version: int


@dataclass(frozen=True, slots=True)
class Rule:
    glob: str
    sources: Mapping[str, str]  # entry -> CEL source
    programs: Mapping[str, Program] = field(compare=False)

    def view(self, version: int) -> RuleView:
        return RuleView(glob=self.glob, version=version, **self.sources)


def compile_rule(glob: str, spec: Mapping[str, str | None]) -> Rule:
    """Compile every entry; the first bad one is a 422 naming the entry and the position."""
    programs: dict[str, Program] = {}
    for entry in ENTRIES:
        source = spec.get(entry)
        if source is None:
            continue
        try:
            programs[entry] = compile_expression(source, RULE_VARIABLES)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"{entry}: {exc.detail}", field=entry, entry=entry, **exc.extra
            ) from None
    sources = {entry: program.source for entry, program in programs.items()}
    return Rule(glob, sources, programs)


def auth_of(principal: Principal) -> dict[str, Any]:
    """The `auth` variable of a rule: who asks (an API key's `sub` is `key:<id>`)."""
    return {
        "sub": f"key:{principal.key_id}" if principal.kind == "key" else principal.id,
        "key_id": principal.key_id,
        "permissions": sorted(principal.permissions),
        "claims": dict(principal.claims or {}),
    }


def _identity(principal: Principal) -> tuple[object, ...]:
    claims = principal.claims
    encoded = orjson.dumps(claims, option=orjson.OPT_SORT_KEYS) if claims else b""
    return (principal.kind, principal.id, principal.key_id, principal.permissions, encoded)


def globs_overlap(a: str, b: str) -> bool:
    """Whether some collection name may match both globs (decided conservatively: true
    unless the literal heads before their first wildcard already tell them apart)."""
    if not any(c in a for c in _WILDCARDS):
        return fnmatchcase(a, b)
    if not any(c in b for c in _WILDCARDS):
        return fnmatchcase(b, a)
    head_a = a[: min(a.index(c) for c in _WILDCARDS if c in a)]
    head_b = b[: min(b.index(c) for c in _WILDCARDS if c in b)]
    return head_a.startswith(head_b) or head_b.startswith(head_a)


# visible(key, rev, doc): whether a `read` rule shows a document.
ReadCheck = Callable[[str, int | None, Any], bool]
# (entry, rule glob, specialised program) of one principal on one collection.
Bound = tuple[tuple[str, str, Program], ...]


class Refusal(Forbidden):
    """A write a rule refused (403 forbidden naming the rule)."""


class OpGuard:
    """`WriteOp.guard` of one op: the store core calls it with (op, current, new) where
    the op applies. It raises `Refusal` for a refused op and remembers what the caller
    may see of the document before and after (a visible write shows its result)."""

    __slots__ = ("_bound", "_collection", "_read", "current_visible", "new_visible")

    def __init__(
        self, bound: Bound, read: Callable[[str, int | None, Any], bool] | None, collection: str
    ) -> None:
        self._bound = bound
        self._read = read
        self._collection = collection
        self.current_visible = True
        self.new_visible = True

    def __call__(self, op: str, key: str, rev: int | None, current: Any, new: Any) -> None:
        variables = {"doc": current, "new": new, "op": op, "key": key, "rev": rev}
        for entry, glob, program in self._bound:
            if entry == op and not program.matches(variables):
                raise Refusal(
                    f"the {op!r} rule of {glob!r} refuses this write on "
                    f"collection {self._collection!r}",
                    rule=glob,
                    entry=op,
                )
        if self._read is not None:
            self.current_visible = current is None or self._read(key, rev, current)
            self.new_visible = new is None or self._read(key, rev, new)


class RuleSet:
    """One version of the rules, compiled; immutable but for its caches."""

    def __init__(self, version: int, rules: Mapping[str, Rule]) -> None:
        self.version = version
        self.rules = dict(rules)
        self._by_collection: dict[str, tuple[Rule, ...]] = {}
        self._bound: dict[tuple[object, ...], Bound] = {}
        self._live: dict[tuple[object, ...], tuple[Expr, ...]] = {}

    def of(self, collection: str) -> tuple[Rule, ...]:
        found = self._by_collection.get(collection)
        if found is None:
            found = tuple(r for g, r in sorted(self.rules.items()) if fnmatchcase(collection, g))
            if len(self._by_collection) >= MAX_BOUND:
                self._by_collection.clear()
            self._by_collection[collection] = found
        return found

    def bound(self, principal: Principal, collection: str) -> Bound:
        """The rules on `collection`, specialised to `principal` once (cached)."""
        rules = self.of(collection)
        if not rules:
            return ()
        cache_key = (collection, *_identity(principal))
        found = self._bound.get(cache_key)
        if found is None:
            auth = {"auth": auth_of(principal)}
            found = tuple(
                (entry, rule.glob, program.specialize(auth))
                for rule in rules
                for entry, program in rule.programs.items()
            )
            if len(self._bound) >= MAX_BOUND:
                self._bound.clear()
            self._bound[cache_key] = found
        return found

    def read_check(
        self, principal: Principal, collection: str
    ) -> Callable[[str, int | None, Any], bool] | None:
        """None when no `read` rule applies (everything readable), else visible(key, rev, doc)."""
        if principal.is_admin:
            return None
        reads = [p for entry, _, p in self.bound(principal, collection) if entry == "read"]
        if not reads:
            return None

        def visible(key: str, rev: int | None, value: Any) -> bool:
            variables = {"doc": value, "key": key, "rev": rev, "new": None, "op": "read"}
            return all(program.matches(variables) for program in reads)

        return visible

    def write_guard(self, principal: Principal, op: WriteOp) -> OpGuard | None:
        """The guard of one write op, or None when no rule applies to it."""
        if principal.is_admin:
            return None
        bound = self.bound(principal, op.collection)
        if not bound:
            return None
        return OpGuard(bound, self.read_check(principal, op.collection), op.collection)

    def governs_reads(self, principal: Principal, collection: str) -> bool:
        """Whether a live read of `collection` (`*`: any the principal may read) meets a
        `read` rule."""
        if principal.is_admin:
            return False
        globs = [g for g, rule in self.rules.items() if "read" in rule.programs]
        if collection != "*":
            return matches_any(collection, tuple(globs))
        return any(globs_overlap(g, scope) for g in globs for scope in principal.collections)

    def read_view(self, principal: Principal, collection: str) -> tuple[object, ...] | None:
        """What decides which documents a live read of `collection` (`*`: all) shows
        `principal`: the `read` rules that apply, and the principal as rules see it.
        Equal views show the same documents; None: no read rule applies."""
        if not self.governs_reads(principal, collection):
            return None
        reads = sorted((g, r.sources["read"]) for g, r in self.rules.items() if "read" in r.sources)
        if collection != "*":
            applies = [(g, source) for g, source in reads if fnmatchcase(collection, g)]
        else:
            scopes = principal.collections
            applies = [(g, s) for g, s in reads if any(globs_overlap(g, c) for c in scopes)]
        return (tuple(applies), *_identity(principal))

    def live_filter(
        self, principal: Principal, collection: str, where: Program | None
    ) -> tuple[DocMatch, Expr | None] | None:
        """What a live read (changes, SSE, WS subscribe, snapshots) of `collection`
        (`*`: all) shows `principal`: its `where` and the `read` rules, as the store's
        `ChangeFilter.match`, with the one expression it evaluates when there is one (a
        single collection: `where && read rules`, specialised to the principal; the hub
        groups subscribers by it). None when neither applies. Its changes have
        enter/leave semantics (docs/rules.md)."""
        governs = self.governs_reads(principal, collection)
        if where is None and not governs:
            return None
        if collection == "*" and governs:
            return self._per_collection(principal, where), None
        parts = [] if where is None else [where.tree]
        if governs:
            parts.extend(self._live_reads(principal, collection))
        tree = conjoin(parts)
        matches = compiled(tree)

        def match(collection: str, key: str, rev: int | None, value: Any) -> bool:
            return matches({"doc": value, "key": key, "rev": rev})

        return match, tree

    def _live_reads(self, principal: Principal, collection: str) -> tuple[Expr, ...]:
        """The `read` rules on `collection` as a live read judges them: specialised to
        the principal, with `op` "read" and no `new` (as `read_check` binds them)."""
        cache_key = ("live", collection, *_identity(principal))
        found = self._live.get(cache_key)
        if found is None:
            found = tuple(
                specialize(program.tree, _READ_BINDINGS)
                for entry, _, program in self.bound(principal, collection)
                if entry == "read"
            )
            if len(self._live) >= MAX_BOUND:
                self._live.clear()
            self._live[cache_key] = found
        return found

    def _per_collection(self, principal: Principal, where: Program | None) -> DocMatch:
        """A `*` read meets each collection's rules: each is looked up once (bounded)."""
        matches = None if where is None else where.matches
        checks: dict[str, ReadCheck | None] = {}

        def visible(collection: str, key: str, rev: int | None, value: Any) -> bool:
            try:
                check = checks[collection]
            except KeyError:
                if len(checks) >= MAX_BOUND:
                    checks.clear()
                check = checks[collection] = self.read_check(principal, collection)
            if check is not None and not check(key, rev, value):
                return False
            return matches is None or matches({"doc": value, "key": key, "rev": rev})

        return visible

    def record(self) -> bytes:
        return orjson.dumps(
            {"version": self.version, "rules": {g: dict(r.sources) for g, r in self.rules.items()}}
        )

    @classmethod
    def from_record(cls, raw: bytes | str) -> RuleSet:
        data = orjson.loads(raw)
        rules = {glob: compile_rule(glob, spec) for glob, spec in data["rules"].items()}
        return cls(int(data["version"]), rules)


EMPTY = RuleSet(0, {})
# announce(record JSON): tells the other nodes of a cluster (app/backends.py).
Announce = Callable[[str], None]
# listener(previous, current): called with each newer rule set this node takes.
Listener = Callable[[RuleSet, RuleSet], None]


class RuleBook:
    """The current rule set of this node, written through to the store."""

    def __init__(self, store: Store, announce: Announce | None = None) -> None:
        self._store = store
        self._announce = announce
        self._lock = asyncio.Lock()
        self._listeners: list[Listener] = []
        self.current = EMPTY

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def _stored(self) -> RuleSet:
        items = await self._store.auth_items(RECORD)
        raw = next((value for name, value in items if name == RECORD), None)
        return RuleSet.from_record(raw) if raw is not None else EMPTY

    async def load(self) -> None:
        self._take(await self._stored())

    reload = load

    def apply(self, record: str) -> None:
        """Another node saved a rule set: take it if it is newer."""
        self._take(RuleSet.from_record(record))

    def _take(self, rules: RuleSet) -> None:
        previous = self.current
        if rules.version <= previous.version:
            return
        self.current = rules
        for listener in self._listeners:
            listener(previous, rules)

    def get(self, glob: str) -> RuleView:
        rule = self.current.rules.get(glob)
        if rule is None:
            raise NotFound(f"no rule for {glob!r}")
        return rule.view(self.current.version)

    def all(self) -> list[RuleView]:
        rules = self.current
        return [rules.rules[g].view(rules.version) for g in sorted(rules.rules)]

    async def put(self, glob: str, spec: RuleSpec) -> RuleView:
        rule = compile_rule(glob, spec.model_dump())  # refused before anything is read
        saved = await self._change(lambda rules: {**rules, glob: rule}, glob)
        return saved.rules[glob].view(saved.version)

    async def delete(self, glob: str) -> int:
        def without(rules: dict[str, Rule]) -> dict[str, Rule]:
            if glob not in rules:
                raise NotFound(f"no rule for {glob!r}")
            return {g: r for g, r in rules.items() if g != glob}

        return (await self._change(without, glob)).version

    async def _change(
        self, change: Callable[[dict[str, Rule]], dict[str, Rule]], glob: str
    ) -> RuleSet:
        async with self._lock:
            # From the store, not the cache: another node may have saved a newer set.
            stored = await self._stored()
            base = stored if stored.version >= self.current.version else self.current
            rules = change(dict(base.rules))
            if len(rules) > MAX_RULES:
                raise ValidationFailed(f"at most {MAX_RULES} rules", field="glob")
            saved = RuleSet(base.version + 1, rules)
            record = saved.record()
            await self._store.auth_put(RECORD, record)
            self._take(saved)
        if self._announce is not None:
            self._announce(record.decode())
        return saved
