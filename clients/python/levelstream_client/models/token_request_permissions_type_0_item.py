from typing import Literal

TokenRequestPermissionsType0Item = Literal["admin", "delete", "read", "write"]

TOKEN_REQUEST_PERMISSIONS_TYPE_0_ITEM_VALUES: set[TokenRequestPermissionsType0Item] = {
    "admin",
    "delete",
    "read",
    "write",
}


def check_token_request_permissions_type_0_item(value: str) -> TokenRequestPermissionsType0Item:
    if value in TOKEN_REQUEST_PERMISSIONS_TYPE_0_ITEM_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TOKEN_REQUEST_PERMISSIONS_TYPE_0_ITEM_VALUES!r}"
    )
