"""Canonical JSON: the JSON Canonicalization Scheme of RFC 8785 (JCS), for ledger leaves and webhook bodies.

Why JCS and not just `json.dumps(sort_keys=True)`? An auditor recomputes leaf hashes with whatever JCS
library their language has (Go, Java, JavaScript, Python's `rfc8785`), so the text must be the one the
RFC defines, byte for byte: keys sorted by UTF-16 code units (not code points: they differ for keys
with characters past U+FFFF), strings escaped as ECMAScript's JSON.stringify escapes them, and numbers
written as ECMAScript writes doubles. Integers outside +-(2^53 - 1) cannot be represented exactly as
doubles and are refused, as in the reference implementations. tests/test_canonical.py checks this
module against the `rfc8785` package on arbitrary values.
"""

from __future__ import annotations

import math
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES = {chr(c): _SHORT.get(chr(c), f"\\u{c:04x}") for c in range(0x20)} | {'"': '\\"', "\\": "\\\\"}


class CanonicalError(ValueError):
    """A value that has no RFC 8785 form (NaN, infinity, a huge integer, a lone surrogate, a non-string key)."""


def dumps(value: Any) -> str:
    """The RFC 8785 text of a JSON value (dict, list, str, int, float, bool, None)."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def dumpb(value: Any) -> bytes:
    """`dumps` as UTF-8 bytes, the form that is hashed and signed."""
    return dumps(value).encode("utf-8")


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalError(f"the integer {value} is outside +-(2^53 - 1), which JSON numbers cannot hold exactly")
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalError(f"object keys must be strings, not {type(key).__name__}")
        out.append("{")
        for i, key in enumerate(sorted(value, key=lambda k: _check(k).encode("utf-16-be"))):
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise CanonicalError(f"a {type(value).__name__} has no JSON form")


def _check(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalError("a string holds a lone surrogate, which is not Unicode text") from None
    return text


def _string(text: str) -> str:
    _check(text)
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def _number(x: float) -> str:
    """ECMAScript's Number.prototype.toString for a finite double (ECMA-262 7.1.12.1), from Python's shortest repr."""
    if not math.isfinite(x):
        raise CanonicalError(f"{x} has no JSON form")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # n: where the decimal point falls relative to the first significant digit (value = 0.digits x 10^n).
    n = len(whole) + int(exp or 0) if whole != "0" else int(exp or 0) - (len(frac) - len(frac.lstrip("0")))
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        text = (digits if k == 1 else digits[0] + "." + digits[1:]) + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text
