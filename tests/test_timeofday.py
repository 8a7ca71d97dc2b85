"""Spoken times of day ("5 pm", "half past five", "quarter to seven in the evening"), on a
day when one is said ("tomorrow at nine", "at 5 pm on friday"), and the moment they next
come round."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.numbers import say_int
from agent.text import words
from agent.timeofday import (
    TimeOfDay,
    clock_phrases,
    day_frame,
    day_from_text,
    parse_time_of_day,
)


@pytest.mark.parametrize(
    ("said", "hour", "minute", "twelve_hour"),
    [
        ("5 p.m.", 17, 0, False),  # Whisper's spelling
        ("5pm", 17, 0, False),
        ("5:30 PM", 17, 30, False),
        ("5.30pm", 17, 30, False),
        ("7 a.m.", 7, 0, False),
        ("12 am", 0, 0, False),
        ("12 pm", 12, 0, False),
        ("17:00", 17, 0, False),
        ("1730", 17, 30, False),
        ("0:30", 0, 30, False),
        ("noon", 12, 0, False),
        ("midnight", 0, 0, False),
        ("five", 5, 0, True),
        ("5 o'clock", 5, 0, True),
        ("five o clock in the evening", 17, 0, False),
        ("half past five", 5, 30, True),
        ("half past seven at night", 19, 30, False),
        ("quarter past eleven at night", 23, 15, False),
        ("quarter to seven in the evening", 18, 45, False),
        ("quarter to one", 12, 45, True),
        ("twenty minutes to six", 5, 40, True),
        ("ten past five", 5, 10, True),
        ("seven fifteen", 7, 15, True),
        ("five oh five", 5, 5, True),
        ("eleven forty five in the morning", 11, 45, False),
    ],
)
def test_spoken_times(said: str, hour: int, minute: int, twelve_hour: bool) -> None:
    assert parse_time_of_day(words(said)) == TimeOfDay(hour, minute, twelve_hour)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("tomorrow at nine", TimeOfDay(9, 0, twelve_hour=True, day="tomorrow")),
        ("nine tomorrow", TimeOfDay(9, 0, twelve_hour=True, day="tomorrow")),
        ("5 p.m. on Friday", TimeOfDay(17, 0, day="friday")),
        ("on friday at 5", TimeOfDay(5, 0, twelve_hour=True, day="friday")),
        ("on Monday morning at half past eight", TimeOfDay(8, 30, day="monday")),
        ("friday evening at 6", TimeOfDay(18, 0, day="friday")),
        ("9 on friday evening", TimeOfDay(21, 0, day="friday")),
        ("tomorrow night at eleven", TimeOfDay(23, 0, day="tomorrow")),
        ("tomorrow morning at 9 am", TimeOfDay(9, 0, day="tomorrow")),
        ("noon today", TimeOfDay(12, 0, day="today")),
        ("tomorrow at 17:00", TimeOfDay(17, 0, day="tomorrow")),
        ("tonight at eight", TimeOfDay(20, 0, day="today")),
        ("this evening at 6", TimeOfDay(18, 0, day="today")),
        ("6 this evening", TimeOfDay(18, 0, day="today")),
        ("this morning at 9:30", TimeOfDay(9, 30, day="today")),
    ],
)
def test_times_on_a_day(said: str, expected: TimeOfDay) -> None:
    assert parse_time_of_day(words(said)) == expected


@pytest.mark.parametrize(
    "said",
    [
        "",
        "friday",  # a day, no time
        "today",
        "at nine",  # "at" belongs to the phrase unless a day comes before it
        "tomorrow evening at 9 am",  # the two halves disagree
        "tomorrow morning at 17:00",
        "tomorrow night at twelve",  # which midnight?
        "friday tomorrow at nine",
        "the doctor",
        "five minutes",  # a duration, not a time
        "in five minutes",
        "13 pm",
        "noon pm",
        "24:00",
        "5:60",
        "five sixty",
        "sixty past five",
        "pm",
        "five five",
    ],
)
def test_what_is_no_time(said: str) -> None:
    assert parse_time_of_day(words(said)) is None


@given(st.integers(1, 12), st.integers(0, 59), st.booleans())
def test_said_in_words_with_am_or_pm(hour: int, minute: int, pm: bool) -> None:
    said = [say_int(hour)]
    if minute:
        said += ["oh", say_int(minute)] if minute < 10 else say_int(minute).split()
    said += ["pm" if pm else "am"]
    assert parse_time_of_day(said) == TimeOfDay(hour % 12 + 12 * pm, minute)


@given(st.integers(0, 23), st.integers(0, 59))
def test_written_as_digits(hour: int, minute: int) -> None:
    got = parse_time_of_day(words(f"{hour}:{minute:02d}"))
    assert got is not None and got.hour % 12 == hour % 12 and got.minute == minute
    assert got.twelve_hour == (1 <= hour <= 12)


NOW = datetime(2026, 12, 6, 16, 0)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (TimeOfDay(17, 0), datetime(2026, 12, 6, 17, 0)),
        (TimeOfDay(9, 0), datetime(2026, 12, 7, 9, 0)),  # gone today: tomorrow
        (TimeOfDay(16, 0), datetime(2026, 12, 7, 16, 0)),  # now is not "at four"
        (TimeOfDay(5, 0, twelve_hour=True), datetime(2026, 12, 6, 17, 0)),  # at four: 5 pm
        (TimeOfDay(3, 0, twelve_hour=True), datetime(2026, 12, 7, 3, 0)),  # 3 am comes first
        (TimeOfDay(12, 30, twelve_hour=True), datetime(2026, 12, 7, 0, 30)),
    ],
)
def test_next_after(when: TimeOfDay, expected: datetime) -> None:
    assert when.next_after(NOW) == expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [  # NOW is Sunday 16:00
        (TimeOfDay(9, 0, twelve_hour=True, day="tomorrow"), datetime(2026, 12, 7, 9, 0)),
        (TimeOfDay(5, 0, twelve_hour=True, day="tomorrow"), datetime(2026, 12, 7, 17, 0)),
        (TimeOfDay(7, 0, twelve_hour=True, day="tomorrow"), datetime(2026, 12, 7, 7, 0)),
        (TimeOfDay(12, 0, twelve_hour=True, day="tomorrow"), datetime(2026, 12, 7, 12, 0)),
        (TimeOfDay(9, 0, day="tomorrow"), datetime(2026, 12, 7, 9, 0)),
        (TimeOfDay(17, 0, day="today"), datetime(2026, 12, 6, 17, 0)),
        (TimeOfDay(5, 0, twelve_hour=True, day="today"), datetime(2026, 12, 6, 17, 0)),
        (TimeOfDay(9, 0, day="today"), None),  # gone
        (TimeOfDay(17, 0, day="friday"), datetime(2026, 12, 11, 17, 0)),
        (TimeOfDay(5, 0, twelve_hour=True, day="friday"), datetime(2026, 12, 11, 17, 0)),
        (TimeOfDay(17, 0, day="sunday"), datetime(2026, 12, 6, 17, 0)),  # later today
        (TimeOfDay(15, 0, day="sunday"), datetime(2026, 12, 13, 15, 0)),  # gone: next week
        (TimeOfDay(8, 0, day="monday"), datetime(2026, 12, 7, 8, 0)),
    ],
)
def test_next_after_on_a_day(when: TimeOfDay, expected: datetime | None) -> None:
    assert when.next_after(NOW) == expected


def test_written_back() -> None:
    assert str(TimeOfDay(17, 5)) == "17:05"
    assert str(TimeOfDay(5, 30, twelve_hour=True)) == "5:30 am or pm"
    assert str(TimeOfDay(9, 0, twelve_hour=True, day="tomorrow")) == "9:00 am or pm tomorrow"
    assert str(TimeOfDay(17, 0, day="friday")) == "17:00 on friday"


@pytest.mark.parametrize(
    ("text", "when", "expected"),
    [
        (
            "call mum tomorrow",
            TimeOfDay(5, 0, twelve_hour=True),
            ("call mum", TimeOfDay(5, 0, twelve_hour=True, day="tomorrow")),
        ),
        (
            "pay the rent on friday evening",
            TimeOfDay(6, 0, twelve_hour=True),
            ("pay the rent", TimeOfDay(18, 0, day="friday")),
        ),
        ("call mum", TimeOfDay(5, 0), ("call mum", TimeOfDay(5, 0))),
        ("tomorrow", TimeOfDay(5, 0), ("tomorrow", TimeOfDay(5, 0))),  # nothing left
        (  # the time has its day
            "call mum tomorrow",
            TimeOfDay(5, 0, day="friday"),
            ("call mum tomorrow", TimeOfDay(5, 0, day="friday")),
        ),
        (  # morning, but 17:00
            "call mum tomorrow morning",
            TimeOfDay(17, 0),
            ("call mum tomorrow morning", TimeOfDay(17, 0)),
        ),
    ],
)
def test_a_day_the_text_took(text: str, when: TimeOfDay, expected: tuple[str, TimeOfDay]) -> None:
    """ "remind me to call mum tomorrow at five" fills "remind me to {text} at {when:time}"
    with "call mum tomorrow" and "five"; the day goes to the time."""
    assert day_from_text(text, when) == expected


def test_next_after_keeps_the_clock_across_a_change_of_offset() -> None:
    """Said at 16:00 in local time, "at 9 am" is 9:00 on the clock next morning, whatever
    offset that morning has; the handler waits the difference of the two aware moments."""
    now = datetime(2026, 12, 6, 16, 0).astimezone()
    at = TimeOfDay(9, 0).next_after(now)
    assert (at.hour, at.minute, at.date()) == (9, 0, now.date() + timedelta(days=1))
    assert at.tzinfo is not None and at > now


def test_the_clock_phrases_are_times() -> None:
    """Every time a misheard time slot may be asked about is one (``clock_phrases``)."""
    said = clock_phrases()
    assert len(set(said)) == len(said) == 110
    assert all(parse_time_of_day(words(p)) is not None for p in said)
    assert parse_time_of_day(words("half past 7")) == TimeOfDay(7, 30, twelve_hour=True)


@pytest.mark.parametrize(
    ("heard", "frame"),
    [
        ("tomorrow at night", (["tomorrow", "at"], ["night"], [])),
        ("tomorrow i need", (["tomorrow", "at"], ["i", "need"], [])),
        ("on friday at ibm", (["on", "friday", "at"], ["ibm"], [])),
        ("at f past 7 on friday", (["at"], ["f", "past", "7"], ["on", "friday"])),
        ("f past 7 tomorrow", ([], ["f", "past", "7"], ["tomorrow"])),
        ("ibm", ([], ["ibm"], [])),
        ("tomorrow", (["tomorrow", "at"], [], [])),  # a day alone: no time stands in it
        # a half of the day said after the time is kept as heard (thirty-eighth run)
        (
            "on saturday at high in the morning",
            (["on", "saturday", "at"], ["high"], ["in", "the", "morning"]),
        ),
        ("f past 7 in the evening", ([], ["f", "past", "7"], ["in", "the", "evening"])),
        ("in the evening", ([], ["in", "the", "evening"], [])),  # no time before it: as heard
    ],
)
def test_a_day_is_kept_around_a_misheard_time(
    heard: str, frame: tuple[list[str], list[str], list[str]]
) -> None:
    assert day_frame(heard.split()) == frame
