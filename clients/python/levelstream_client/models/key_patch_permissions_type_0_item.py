from typing import Literal

KeyPatchPermissionsType0Item = Literal["admin", "delete", "read", "write"]

KEY_PATCH_PERMISSIONS_TYPE_0_ITEM_VALUES: set[KeyPatchPermissionsType0Item] = {
    "admin",
    "delete",
    "read",
    "write",
}


def check_key_patch_permissions_type_0_item(value: str) -> KeyPatchPermissionsType0Item:
    if value in KEY_PATCH_PERMISSIONS_TYPE_0_ITEM_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {KEY_PATCH_PERMISSIONS_TYPE_0_ITEM_VALUES!r}"
    )
