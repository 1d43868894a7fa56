from typing import Literal

ProblemCode = Literal[
    "bad_request",
    "conflict",
    "forbidden",
    "history_compacted",
    "internal",
    "not_found",
    "payload_too_large",
    "precondition_failed",
    "rate_limited",
    "unauthorized",
    "unavailable",
    "validation_failed",
]

PROBLEM_CODE_VALUES: set[ProblemCode] = {
    "bad_request",
    "conflict",
    "forbidden",
    "history_compacted",
    "internal",
    "not_found",
    "payload_too_large",
    "precondition_failed",
    "rate_limited",
    "unauthorized",
    "unavailable",
    "validation_failed",
}


def check_problem_code(value: str) -> ProblemCode:
    if value in PROBLEM_CODE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {PROBLEM_CODE_VALUES!r}")
