"""Property tests: spoken numbers and durations round-trip."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.numbers import parse_duration, parse_int, say_int

UNITS = [
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
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def below_100(n: int) -> list[str]:
    if n < 20:
        return [UNITS[n]]
    t, u = divmod(n, 10)
    return [TENS[t]] + ([UNITS[u]] if u else [])


def below_1000(n: int, british_and: bool) -> list[str]:
    h, rest = divmod(n, 100)
    out: list[str] = []
    if h:
        out += [UNITS[h], "hundred"]
        if rest and british_and:
            out.append("and")
    if rest or not h:
        out += below_100(rest)
    return out


def spell(n: int, british_and: bool = False) -> list[str]:
    th, rest = divmod(n, 1000)
    out: list[str] = []
    if th:
        out += [*below_1000(th, british_and), "thousand"]
    if rest or not th:
        out += below_1000(rest, british_and)
    return out


@given(st.integers(min_value=0, max_value=999_999), st.booleans())
def test_spelled_integers_parse_back(n: int, british_and: bool) -> None:
    assert parse_int(spell(n, british_and)) == n


def test_say_int_says_what_parse_int_reads() -> None:
    for n in range(100):
        assert say_int(n).split() == below_100(n)
        assert parse_int(say_int(n).split()) == n


@given(st.integers(min_value=0, max_value=10**9))
def test_digit_strings_parse(n: int) -> None:
    assert parse_int([str(n)]) == n


@given(
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=59),
)
def test_durations_add_up(h: int, m: int, s: int) -> None:
    parts: list[list[str]] = []
    for n, unit in ((h, "hour"), (m, "minute"), (s, "second")):
        if n:
            parts.append([*spell(n), unit + ("s" if n != 1 else "")])
    if not parts:
        return
    tokens: list[str] = []
    for i, p in enumerate(parts):
        if i:
            tokens.append("and")
        tokens += p
    assert parse_duration(tokens) == h * 3600 + m * 60 + s


@given(st.lists(st.sampled_from(["blue", "the", "timer", "five", "minutes", "and"]), max_size=6))
def test_parsers_never_raise(tokens: list[str]) -> None:
    parse_int(tokens)
    parse_duration(tokens)
