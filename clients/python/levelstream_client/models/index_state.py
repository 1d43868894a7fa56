from typing import Literal

IndexState = Literal["building", "ready"]

INDEX_STATE_VALUES: set[IndexState] = {
    "building",
    "ready",
}


def check_index_state(value: str) -> IndexState:
    if value in INDEX_STATE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {INDEX_STATE_VALUES!r}")
