from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.batch_op_op import BatchOpOp, check_batch_op_op
from ..types import UNSET, Unset

T = TypeVar("T", bound="BatchOp")


@_attrs_define
class BatchOp:
    collection: str
    key: str
    op: BatchOpOp
    if_rev: int | None | Unset = UNSET
    """ Fail the whole batch unless at this rev """
    ttl_s: float | None | Unset = UNSET
    value: Any | Unset = UNSET
    """ The value (put) or merge patch (patch) """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

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
        field_dict.update(self.additional_properties)
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

        batch_op.additional_properties = d
        return batch_op

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
