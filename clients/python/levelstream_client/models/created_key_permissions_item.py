from typing import Literal

CreatedKeyPermissionsItem = Literal["admin", "delete", "read", "write"]

CREATED_KEY_PERMISSIONS_ITEM_VALUES: set[CreatedKeyPermissionsItem] = {
    "admin",
    "delete",
    "read",
    "write",
}


def check_created_key_permissions_item(value: str) -> CreatedKeyPermissionsItem:
    if value in CREATED_KEY_PERMISSIONS_ITEM_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATED_KEY_PERMISSIONS_ITEM_VALUES!r}"
    )
