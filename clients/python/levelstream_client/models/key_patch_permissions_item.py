from typing import Literal

KeyPatchPermissionsItem = Literal["admin", "delete", "read", "write"]

KEY_PATCH_PERMISSIONS_ITEM_VALUES: set[KeyPatchPermissionsItem] = {
    "admin",
    "delete",
    "read",
    "write",
}


def check_key_patch_permissions_item(value: str) -> KeyPatchPermissionsItem:
    if value in KEY_PATCH_PERMISSIONS_ITEM_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KEY_PATCH_PERMISSIONS_ITEM_VALUES!r}"
    )
