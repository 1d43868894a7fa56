from typing import Literal

BatchOpOp = Literal["delete", "patch", "put"]

BATCH_OP_OP_VALUES: set[BatchOpOp] = {
    "delete",
    "patch",
    "put",
}


def check_batch_op_op(value: str) -> BatchOpOp:
    if value in BATCH_OP_OP_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {BATCH_OP_OP_VALUES!r}")
