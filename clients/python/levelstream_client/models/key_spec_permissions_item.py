from typing import Literal

KeySpecPermissionsItem = Literal["admin", "delete", "read", "write"]

KEY_SPEC_PERMISSIONS_ITEM_VALUES: set[KeySpecPermissionsItem] = {
    "admin",
    "delete",
    "read",
    "write",
}


def check_key_spec_permissions_item(value: str) -> KeySpecPermissionsItem:
    if value in KEY_SPEC_PERMISSIONS_ITEM_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KEY_SPEC_PERMISSIONS_ITEM_VALUES!r}"
    )
