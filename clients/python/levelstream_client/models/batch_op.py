from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.batch_op_op import BatchOpOp, check_batch_op_op
from ..types import UNSET, Unset

T = TypeVar("T", bound="BatchOp")


@_attrs_define
class BatchOp:
    """One op of a batch; the server refuses any other member."""

    collection: str
    key: str
    op: BatchOpOp
    if_rev: int | None | Unset = UNSET
    """ Fail the whole batch unless at this rev """
    ttl_s: float | None | Unset = UNSET
    """ put and patch: expire after seconds """
    value: Any | Unset = UNSET
    """ The value (put: any JSON value but null) or merge patch (patch: required) """

    def to_dict(self) -> dict[str, Any]:
        collection = self.collection

        key = self.key

        op: str = self.op

        if_rev: int | None | Unset
        if isinstance(self.if_rev, Unset):
            if_rev = UNSET
        else:
            if_rev = self.if_rev

        ttl_s: float | None | Unset
        if isinstance(self.ttl_s, Unset):
            ttl_s = UNSET
        else:
            ttl_s = self.ttl_s

        value = self.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "collection": collection,
                "key": key,
                "op": op,
            }
        )
        if if_rev is not UNSET:
            field_dict["if_rev"] = if_rev
        if ttl_s is not UNSET:
            field_dict["ttl_s"] = ttl_s
        if value is not UNSET:
            field_dict["value"] = value

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        collection = d.pop("collection")

        key = d.pop("key")

        op = check_batch_op_op(d.pop("op"))

        def _parse_if_rev(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        if_rev = _parse_if_rev(d.pop("if_rev", UNSET))

        def _parse_ttl_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        ttl_s = _parse_ttl_s(d.pop("ttl_s", UNSET))

        value = d.pop("value", UNSET)

        batch_op = cls(
            collection=collection,
            key=key,
            op=op,
            if_rev=if_rev,
            ttl_s=ttl_s,
            value=value,
        )

        return batch_op
