# Generated from app/cel/lexer.py by scripts/vendor_cel.py (make sdk-cel): edit there.
"""Tokens of the expression language: CEL's lexis (docs/queries.md), minus what the
subset leaves out (bytes and unsigned literals), which is refused with a position."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .refusal import ValidationFailed

RESERVED = frozenset(
    {"as", "break", "const", "continue", "else", "for", "function", "if", "import", "let"}
    | {"loop", "package", "namespace", "return", "var", "void", "while"}
)
KEYWORDS = frozenset({"true", "false", "null", "in"})

# Longest first, so `<=` wins over `<`.
PUNCTUATION = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "-", "(", ")", "[", "]", ",", ".")
# Operators of full CEL that the subset refuses, named so the refusal says what it saw.
NOT_IN_SUBSET = ("+", "*", "/", "%", "?", ":", "{", "}")

_SPACE = re.compile(r"(?:[ \t\n\f\r]+|//[^\r\n]*)+")
_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_NUMBER = re.compile(
    r"(?P<hex>0[xX][0-9a-fA-F]+)"
    r"|(?P<float>(?:[0-9]+\.[0-9]+|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)"
    r"|(?P<int>[0-9]+)"
)
_SIMPLE_ESCAPES = {
    "\\": "\\", "?": "?", '"': '"', "'": "'", "`": "`",
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
}  # fmt: skip
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")  # ASCII only: '²'.isdigit() is true


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "int", "float", "string", "ident", "keyword", a punctuation mark, or "end"
    text: str
    pos: int
    value: int | float | str | None = None


def refuse(source: str, pos: int, message: str) -> ValidationFailed:
    """A compile-time refusal naming the offset (and line:column) in the source."""
    line = source.count("\n", 0, pos) + 1
    column = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return ValidationFailed(
        f"{message} at offset {pos} (line {line}, column {column})",
        offset=pos,
        line=line,
        column=column,
    )


def describe(token: Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos, end = 0, len(source)
    while True:
        space = _SPACE.match(source, pos)
        if space:
            pos = space.end()
        if pos >= end:
            tokens.append(Token("end", "", pos))
            return tokens
        char = source[pos]
        if char in "\"'" or (char in "rR" and source[pos + 1 : pos + 2] in ('"', "'")):
            token = _string(source, pos)
        elif char in "bB" and source[pos + 1 : pos + 2] in ('"', "'"):
            raise refuse(source, pos, "bytes literals are not part of the expression language")
        elif char in _DIGITS or (char == "." and source[pos + 1 : pos + 2] in _DIGITS):
            token = _number(source, pos)
        elif _IDENT.match(source, pos):
            word = _IDENT.match(source, pos).group()  # type: ignore[union-attr]
            kind = "keyword" if word in KEYWORDS else "ident"
            token = Token(kind, word, pos)
        else:
            token = _punctuation(source, pos)
        tokens.append(token)
        pos = token.pos + len(token.text)


def _punctuation(source: str, pos: int) -> Token:
    for mark in PUNCTUATION:
        if source.startswith(mark, pos):
            return Token(mark, mark, pos)
    char = source[pos]
    if char in NOT_IN_SUBSET:
        raise refuse(source, pos, f"operator {char!r} is not part of the expression language")
    raise refuse(source, pos, f"unexpected character {char!r}")


def _number(source: str, pos: int) -> Token:
    match = _NUMBER.match(source, pos)
    assert match is not None  # the caller saw a digit (or '.' and a digit)
    text = match.group()
    after = match.end()
    if source[after : after + 1] in ("u", "U"):
        raise refuse(source, after, "unsigned literals are not part of the expression language")
    if source[after : after + 1].isalnum() or source[after : after + 1] in ("_", "."):
        raise refuse(source, after, f"malformed number {source[pos : after + 1]!r}")
    if match.group("float"):
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise refuse(source, pos, f"number {text} is out of range")
        return Token("float", text, pos, value)
    # Ints are range-checked by the parser, which knows about a leading '-'.
    return Token("int", text, pos, int(text, 16) if match.group("hex") else int(text))


def _string(source: str, start: int) -> Token:
    pos = start
    raw = source[pos] in "rR"
    if raw:
        pos += 1
    quote = source[pos : pos + 3] if source[pos : pos + 3] in ('"""', "'''") else source[pos]
    pos += len(quote)
    out: list[str] = []
    while True:
        if pos >= len(source):
            raise refuse(source, start, "unterminated string")
        if source.startswith(quote, pos):
            pos += len(quote)
            text = source[start:pos]
            return Token("string", text, start, "".join(out))
        char = source[pos]
        if char in "\r\n" and len(quote) == 1:
            raise refuse(source, pos, "newline in a string (use \\n or a triple-quoted string)")
        if char == "\\" and not raw:
            decoded, pos = _escape(source, pos)
            out.append(decoded)
            continue
        out.append(char)
        pos += 1


def _escape(source: str, pos: int) -> tuple[str, int]:
    """One escape sequence at `pos` (the backslash): its character and the next offset."""
    kind = source[pos + 1 : pos + 2]
    if kind in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[kind], pos + 2
    width = {"x": 2, "X": 2, "u": 4, "U": 8}.get(kind)
    if width is not None:
        digits = source[pos + 2 : pos + 2 + width]
        if len(digits) != width or not set(digits) <= _HEX:
            raise refuse(source, pos, f"expected {width} hex digits after \\{kind}")
        return _code_point(source, pos, int(digits, 16)), pos + 2 + width
    digits = source[pos + 1 : pos + 4]
    if len(digits) == 3 and digits[0] in "0123" and set(digits[1:]) <= set("01234567"):
        return _code_point(source, pos, int(digits, 8)), pos + 4
    raise refuse(source, pos, "invalid escape sequence")


def _code_point(source: str, pos: int, code: int) -> str:
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise refuse(source, pos, f"escape \\u{code:X} is not a Unicode scalar value")
    return chr(code)
