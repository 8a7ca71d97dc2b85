"""Spoken numbers to integers: "5", "five", "twenty five", "a hundred and two", "1 thousand"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

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

Said = TypeVar("Said", bound=int | str)
"""A number the audio is asked about (5), or a word said for one ("noon"):
``Transcriber.number_logprobs``, ``rescore.named_number``."""

_UNIT_WORDS = {i: w for w, i in _UNITS.items()}
_TENS_WORDS = {i: w for w, i in _TENS.items()}


def say_int(n: int) -> str:
    """0 to 99 in words, as ``parse_int`` reads them: 10 -> "ten", 25 -> "twenty five"."""
    if not 0 <= n < 100:
        raise ValueError(f"{n}: only 0 to 99")
    if n < 20:
        return _UNIT_WORDS[n]
    tens = _TENS_WORDS[n - n % 10]
    return tens if n % 10 == 0 else f"{tens} {_UNIT_WORDS[n % 10]}"


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


_UNIT_SECONDS = {
    "second": 1,
    "seconds": 1,
    "sec": 1,
    "secs": 1,
    "s": 1,
    "minute": 60,
    "minutes": 60,
    "min": 60,
    "mins": 60,
    "hour": 3600,
    "hours": 3600,
    "hr": 3600,
    "hrs": 3600,
    "h": 3600,
}
DURATION_WORDS = frozenset(_UNIT_SECONDS) | NUMBER_WORDS | {"half", "quarter", "and", "a", "an"}
"""Every word that can be part of a spoken duration."""


def _amount(tokens: Sequence[str]) -> float | None:
    """A number of units: "5", "1.5", "five", "a", "half a", "an", "one and a half"."""
    if not tokens:
        return None
    text = " ".join(tokens)
    fractions = {
        "half a": 0.5,
        "half an": 0.5,
        "a half": 0.5,
        "half": 0.5,
        "a quarter": 0.25,
        "quarter": 0.25,
    }
    if text in fractions:
        return fractions[text]
    if text in ("a", "an"):
        return 1.0
    for suffix, add in ((" and a half", 0.5), (" and a quarter", 0.25)):
        if text.endswith(suffix):
            base = _amount(tokens[: len(tokens) - len(suffix.split())])
            return None if base is None else base + add
    if len(tokens) == 1:
        try:
            return float(tokens[0])
        except ValueError:
            pass
    n = parse_int(tokens)
    return None if n is None else float(n)


def parse_duration(tokens: Sequence[str]) -> float | None:
    """Seconds in a spoken duration: "ninety seconds", "1 and a half hours", "half an hour",
    "two hours and ten minutes", "an hour"; None when the words are not a duration."""
    total = 0.0
    amount: list[str] = []
    found = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in _UNIT_SECONDS:
            # "one and a half hours" vs "two hours and a half": the amount comes before the unit
            value = _amount(amount)
            if value is None:
                return None
            unit = _UNIT_SECONDS[tok]
            rest = tokens[i + 1 : i + 4]
            if list(rest[:3]) == ["and", "a", "half"]:
                value += 0.5
                i += 3
            total += value * unit
            amount = []
            found = True
        elif tok == "and" and not amount and found:
            pass  # "two hours and ten minutes"
        else:
            amount.append(tok)
        i += 1
    if amount or not found:
        return None
    return total
