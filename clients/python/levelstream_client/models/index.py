from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.index_state import IndexState, check_index_state

T = TypeVar("T", bound="Index")


@_attrs_define
class Index:
    done: int
    """ Documents indexed by the build so far """
    fields: list[str]
    name: str
    state: IndexState
    """ `building` while the online build runs; reads use only `ready` indexes """
    total: int
    """ Documents of the collection (as the build last saw) """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        done = self.done

        fields = self.fields

        name = self.name

        state: str = self.state

        total = self.total

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "done": done,
                "fields": fields,
                "name": name,
                "state": state,
                "total": total,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        done = d.pop("done")

        fields = cast(list[str], d.pop("fields"))

        name = d.pop("name")

        state = check_index_state(d.pop("state"))

        total = d.pop("total")

        index = cls(
            done=done,
            fields=fields,
            name=name,
            state=state,
            total=total,
        )

        index.additional_properties = d
        return index

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
