from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="QueryPlan")


@_attrs_define
class QueryPlan:
    """The answer of a range read with `explain=true`: the plan instead of the items."""

    index: None | str
    """ The index the read used; null: it scanned """
    returned: int
    """ Documents the page would hold """
    scanned: int
    """ Documents (or index entries) examined for this page """
    needs_index: list[str] | None | Unset = UNSET
    """ Set when a filter no index serves ran out of LEVELSTREAM_MAX_SCAN: the fields to index """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        index: None | str
        index = self.index

        returned = self.returned

        scanned = self.scanned

        needs_index: list[str] | None | Unset
        if isinstance(self.needs_index, Unset):
            needs_index = UNSET
        elif isinstance(self.needs_index, list):
            needs_index = self.needs_index

        else:
            needs_index = self.needs_index

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "returned": returned,
                "scanned": scanned,
            }
        )
        if needs_index is not UNSET:
            field_dict["needs_index"] = needs_index

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_index(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        index = _parse_index(d.pop("index"))

        returned = d.pop("returned")

        scanned = d.pop("scanned")

        def _parse_needs_index(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                needs_index_type_0 = cast(list[str], data)

                return needs_index_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        needs_index = _parse_needs_index(d.pop("needs_index", UNSET))

        query_plan = cls(
            index=index,
            returned=returned,
            scanned=scanned,
            needs_index=needs_index,
        )

        query_plan.additional_properties = d
        return query_plan

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
