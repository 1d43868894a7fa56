from typing import Literal

ApiKeyPermissionsItem = Literal["admin", "delete", "read", "write"]

API_KEY_PERMISSIONS_ITEM_VALUES: set[ApiKeyPermissionsItem] = {
    "admin",
    "delete",
    "read",
    "write",
}


def check_api_key_permissions_item(value: str) -> ApiKeyPermissionsItem:
    if value in API_KEY_PERMISSIONS_ITEM_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {API_KEY_PERMISSIONS_ITEM_VALUES!r}"
    )
