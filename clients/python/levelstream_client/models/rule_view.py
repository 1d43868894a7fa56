from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RuleView")


@_attrs_define
class RuleView:
    """A rule as listed: its glob, its entries and the rule set's version."""

    glob: str
    version: int
    create: None | str | Unset = UNSET
    """ Whether a new document (`new`) may be written """
    delete: None | str | Unset = UNSET
    """ Whether `doc` may be deleted """
    read: None | str | Unset = UNSET
    """ Which documents a caller may read """
    update: None | str | Unset = UNSET
    """ Whether `doc` may be replaced by `new` """

    def to_dict(self) -> dict[str, Any]:
        glob = self.glob

        version = self.version

        create: None | str | Unset
        if isinstance(self.create, Unset):
            create = UNSET
        else:
            create = self.create

        delete: None | str | Unset
        if isinstance(self.delete, Unset):
            delete = UNSET
        else:
            delete = self.delete

        read: None | str | Unset
        if isinstance(self.read, Unset):
            read = UNSET
        else:
            read = self.read

        update: None | str | Unset
        if isinstance(self.update, Unset):
            update = UNSET
        else:
            update = self.update

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "glob": glob,
                "version": version,
            }
        )
        if create is not UNSET:
            field_dict["create"] = create
        if delete is not UNSET:
            field_dict["delete"] = delete
        if read is not UNSET:
            field_dict["read"] = read
        if update is not UNSET:
            field_dict["update"] = update

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        glob = d.pop("glob")

        version = d.pop("version")

        def _parse_create(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        create = _parse_create(d.pop("create", UNSET))

        def _parse_delete(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        delete = _parse_delete(d.pop("delete", UNSET))

        def _parse_read(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        read = _parse_read(d.pop("read", UNSET))

        def _parse_update(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        update = _parse_update(d.pop("update", UNSET))

        rule_view = cls(
            glob=glob,
            version=version,
            create=create,
            delete=delete,
            read=read,
            update=update,
        )

        return rule_view
