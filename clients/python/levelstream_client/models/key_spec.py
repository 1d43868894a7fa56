from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.key_spec_permissions_item import (
    KeySpecPermissionsItem,
    check_key_spec_permissions_item,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="KeySpec")


@_attrs_define
class KeySpec:
    """What a key may do; the body of `POST /v1/keys`."""

    name: str
    permissions: list[KeySpecPermissionsItem]
    allowed_ips: list[str] | Unset = UNSET
    """ Client addresses (CIDRs or single addresses) it may be used from; empty: any """
    allowed_origins: list[str] | Unset = UNSET
    """ Browser origins this key may be used from; empty: any (and non-browser) """
    channels: list[str] | Unset = UNSET
    """ Glob patterns (`tickets`, `app1.*`) of the channels this key may use; omitted: `["*"]`, every channel """
    collections: list[str] | Unset = UNSET
    """ Glob patterns (`tickets`, `app1.*`) of the collections this key may use; omitted: `["*"]`, every collection
    """
    expires_at: datetime.datetime | None | Unset = UNSET
    """ When the key stops working (with a time zone); null: never """
    rate_limit_per_s: int | None | Unset = UNSET
    """ Requests per second; null: no limit """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        permissions = []
        for permissions_item_data in self.permissions:
            permissions_item: str = permissions_item_data
            permissions.append(permissions_item)

        allowed_ips: list[str] | Unset = UNSET
        if not isinstance(self.allowed_ips, Unset):
            allowed_ips = self.allowed_ips

        allowed_origins: list[str] | Unset = UNSET
        if not isinstance(self.allowed_origins, Unset):
            allowed_origins = self.allowed_origins

        channels: list[str] | Unset = UNSET
        if not isinstance(self.channels, Unset):
            channels = self.channels

        collections: list[str] | Unset = UNSET
        if not isinstance(self.collections, Unset):
            collections = self.collections

        expires_at: None | str | Unset
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        elif isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        rate_limit_per_s: int | None | Unset
        if isinstance(self.rate_limit_per_s, Unset):
            rate_limit_per_s = UNSET
        else:
            rate_limit_per_s = self.rate_limit_per_s

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "permissions": permissions,
            }
        )
        if allowed_ips is not UNSET:
            field_dict["allowed_ips"] = allowed_ips
        if allowed_origins is not UNSET:
            field_dict["allowed_origins"] = allowed_origins
        if channels is not UNSET:
            field_dict["channels"] = channels
        if collections is not UNSET:
            field_dict["collections"] = collections
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if rate_limit_per_s is not UNSET:
            field_dict["rate_limit_per_s"] = rate_limit_per_s

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        permissions = []
        _permissions = d.pop("permissions")
        for permissions_item_data in _permissions:
            permissions_item = check_key_spec_permissions_item(permissions_item_data)

            permissions.append(permissions_item)

        allowed_ips = cast(list[str], d.pop("allowed_ips", UNSET))

        allowed_origins = cast(list[str], d.pop("allowed_origins", UNSET))

        channels = cast(list[str], d.pop("channels", UNSET))

        collections = cast(list[str], d.pop("collections", UNSET))

        def _parse_expires_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        def _parse_rate_limit_per_s(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        rate_limit_per_s = _parse_rate_limit_per_s(d.pop("rate_limit_per_s", UNSET))

        key_spec = cls(
            name=name,
            permissions=permissions,
            allowed_ips=allowed_ips,
            allowed_origins=allowed_origins,
            channels=channels,
            collections=collections,
            expires_at=expires_at,
            rate_limit_per_s=rate_limit_per_s,
        )

        key_spec.additional_properties = d
        return key_spec

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
