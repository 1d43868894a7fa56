from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.token_request_permissions_type_0_item import (
    TokenRequestPermissionsType0Item,
    check_token_request_permissions_type_0_item,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.token_request_claims_type_0 import TokenRequestClaimsType0


T = TypeVar("T", bound="TokenRequest")


@_attrs_define
class TokenRequest:
    sub: str
    """ Who the token is for """
    channels: list[str] | None | Unset = UNSET
    """ Omitted: the asking key's; [] grants none """
    claims: None | TokenRequestClaimsType0 | Unset = UNSET
    """ Your own claims, carried in the token and seen by rules as `auth.claims` (at most 4096 bytes of JSON; not
    the reserved names adm, aud, channels, collections, exp, iat, iss, jti, lsk, nbf, permissions, sub) """
    collections: list[str] | None | Unset = UNSET
    """ Omitted: the asking key's; [] grants none """
    permissions: list[TokenRequestPermissionsType0Item] | None | Unset = UNSET
    """ Omitted: the asking key's; [] grants none """
    ttl_s: int | Unset = 3600
    """ Lifetime in seconds; at most LEVELSTREAM_JWT_MAX_TTL_S (default 86400), and never past the asking key's
    expiry """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.token_request_claims_type_0 import TokenRequestClaimsType0  # noqa: PLC0415

        sub = self.sub

        channels: list[str] | None | Unset
        if isinstance(self.channels, Unset):
            channels = UNSET
        elif isinstance(self.channels, list):
            channels = self.channels

        else:
            channels = self.channels

        claims: dict[str, Any] | None | Unset
        if isinstance(self.claims, Unset):
            claims = UNSET
        elif isinstance(self.claims, TokenRequestClaimsType0):
            claims = self.claims.to_dict()
        else:
            claims = self.claims

        collections: list[str] | None | Unset
        if isinstance(self.collections, Unset):
            collections = UNSET
        elif isinstance(self.collections, list):
            collections = self.collections

        else:
            collections = self.collections

        permissions: list[str] | None | Unset
        if isinstance(self.permissions, Unset):
            permissions = UNSET
        elif isinstance(self.permissions, list):
            permissions = []
            for permissions_type_0_item_data in self.permissions:
                permissions_type_0_item: str = permissions_type_0_item_data
                permissions.append(permissions_type_0_item)

        else:
            permissions = self.permissions

        ttl_s = self.ttl_s

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sub": sub,
            }
        )
        if channels is not UNSET:
            field_dict["channels"] = channels
        if claims is not UNSET:
            field_dict["claims"] = claims
        if collections is not UNSET:
            field_dict["collections"] = collections
        if permissions is not UNSET:
            field_dict["permissions"] = permissions
        if ttl_s is not UNSET:
            field_dict["ttl_s"] = ttl_s

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.token_request_claims_type_0 import TokenRequestClaimsType0  # noqa: PLC0415

        d = dict(src_dict)
        sub = d.pop("sub")

        def _parse_channels(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                channels_type_0 = cast(list[str], data)

                return channels_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        channels = _parse_channels(d.pop("channels", UNSET))

        def _parse_claims(data: object) -> None | TokenRequestClaimsType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                claims_type_0 = TokenRequestClaimsType0.from_dict(data)

                return claims_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TokenRequestClaimsType0 | Unset, data)

        claims = _parse_claims(d.pop("claims", UNSET))

        def _parse_collections(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                collections_type_0 = cast(list[str], data)

                return collections_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        collections = _parse_collections(d.pop("collections", UNSET))

        def _parse_permissions(
            data: object,
        ) -> list[TokenRequestPermissionsType0Item] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                permissions_type_0 = []
                _permissions_type_0 = data
                for permissions_type_0_item_data in _permissions_type_0:
                    permissions_type_0_item = check_token_request_permissions_type_0_item(
                        permissions_type_0_item_data
                    )

                    permissions_type_0.append(permissions_type_0_item)

                return permissions_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[TokenRequestPermissionsType0Item] | None | Unset, data)

        permissions = _parse_permissions(d.pop("permissions", UNSET))

        ttl_s = d.pop("ttl_s", UNSET)

        token_request = cls(
            sub=sub,
            channels=channels,
            claims=claims,
            collections=collections,
            permissions=permissions,
            ttl_s=ttl_s,
        )

        token_request.additional_properties = d
        return token_request

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
