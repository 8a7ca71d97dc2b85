"""Spoken numbers to integers: "5", "five", "twenty five", "a hundred and two", "1 thousand"."""

from __future__ import annotations

from collections.abc import Sequence

_UNITS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS = {
    w: 10 * i
    for i, w in enumerate(
        ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    )
    if w != "_"
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_ARTICLES = {"a", "an"}
NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS) | frozenset(_SCALES) | {"and", "a", "an"}
"""Every word that can be part of a spoken number."""


def parse_int(tokens: Sequence[str]) -> int | None:
    """The integer the words spell, or None when they are not (only) a number."""
    if not tokens:
        return None
    if len(tokens) == 1 and tokens[0].isdigit():
        return int(tokens[0])
    total = 0
    current = 0
    seen_number = False
    prev: str | None = None
    for i, tok in enumerate(tokens):
        if tok.isdigit():
            if prev is not None and prev not in ("and",) and seen_number and current:
                return None
            current += int(tok)
            seen_number = True
        elif tok in _UNITS:
            if prev in _UNITS or (prev is not None and prev.isdigit()):
                return None
            current += _UNITS[tok]
            seen_number = True
        elif tok in _TENS:
            if current % 100 >= 10 and prev not in _SCALES:
                return None
            current += _TENS[tok]
            seen_number = True
        elif tok in _ARTICLES:
            # "a hundred", "a thousand": only before a scale word.
            if i + 1 >= len(tokens) or tokens[i + 1] not in _SCALES:
                return None
            current += 1
        elif tok == "and":
            if not seen_number or i + 1 >= len(tokens):
                return None
        elif tok in _SCALES:
            scale = _SCALES[tok]
            if current == 0:
                current = 1
            if scale == 100:
                current *= 100
            else:
                total += current * scale
                current = 0
            seen_number = True
        else:
            return None
        prev = tok
    return total + current if seen_number else None
