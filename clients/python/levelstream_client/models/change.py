from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.change_op import ChangeOp, check_change_op
from ..types import UNSET, Unset

T = TypeVar("T", bound="Change")


@_attrs_define
class Change:
    """One committed change."""

    collection: str
    key: str
    op: ChangeOp
    prev_rev: int | None
    rev: int
    seq: int
    ts: str
    value: Any
    """ The new value; null for a delete """
    reason: Literal["expired"] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        collection = self.collection

        key = self.key

        op: str = self.op

        prev_rev: int | None
        prev_rev = self.prev_rev

        rev = self.rev

        seq = self.seq

        ts = self.ts

        value = self.value

        reason: Literal["expired"] | None | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "collection": collection,
                "key": key,
                "op": op,
                "prev_rev": prev_rev,
                "rev": rev,
                "seq": seq,
                "ts": ts,
                "value": value,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        collection = d.pop("collection")

        key = d.pop("key")

        op = check_change_op(d.pop("op"))

        def _parse_prev_rev(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        prev_rev = _parse_prev_rev(d.pop("prev_rev"))

        rev = d.pop("rev")

        seq = d.pop("seq")

        ts = d.pop("ts")

        value = d.pop("value")

        def _parse_reason(data: object) -> Literal["expired"] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            reason_type_0 = cast(Literal["expired"], data)
            if reason_type_0 != "expired":
                raise ValueError(f"reason_type_0 must match const 'expired', got '{reason_type_0}'")
            return reason_type_0
            return cast(Literal["expired"] | None | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        change = cls(
            collection=collection,
            key=key,
            op=op,
            prev_rev=prev_rev,
            rev=rev,
            seq=seq,
            ts=ts,
            value=value,
            reason=reason,
        )

        change.additional_properties = d
        return change

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
