"""Spoken times of day: "5 pm", "5:30", "half past five", "quarter to seven in the evening",
"seven fifteen", "noon", "17:00" (as ``agent.text.words`` splits them: "p.m." is "p", "m"),
on a day when one is said: "tomorrow at nine", "at 5 pm on friday", "on monday morning at
half past eight", "at noon today".

A time said without "am"/"pm" or a part of the day, whose hour could be either ("at five"),
is kept as said (``twelve_hour``); ``TimeOfDay.next_after`` then takes whichever of the two
comes first, as a person means "remind me at five" said at noon. On a day after today
("tomorrow at five") it is taken in the daytime, 7:00 to 18:59, as people mean such times.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from agent.numbers import NUMBER_WORDS, parse_int

_MERIDIEM = {
    ("am",): False,
    ("a", "m"): False,
    ("pm",): True,
    ("p", "m"): True,
    ("in", "the", "morning"): False,
    ("in", "the", "afternoon"): True,
    ("in", "the", "evening"): True,
    ("at", "night"): True,
}
"""Words after a time that say which half of the day: True for the afternoon."""
_PART_OF_DAY = {"morning": False, "afternoon": True, "evening": True, "night": True}
"""After a day ("tomorrow morning", "on friday evening"): which half of the day."""
_TODAY = {
    ("tonight",): "night",
    ("this", "morning"): "morning",
    ("this", "afternoon"): "afternoon",
    ("this", "evening"): "evening",
}
"""Words before or after a time that say today and its half ("tonight at eight")."""
_TODAY_BEFORE = {**_TODAY, ("to", "night"): "night"}
"""... and before it only, "tonight" as tiny.en writes it too ("remind me to night at 10 to
check the oven"); after a time, "10 to night" is more likely "ten to nine" misheard."""
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = frozenset({"today", "tomorrow", *_WEEKDAYS})
_OCLOCK = (("oclock",), ("o", "clock"))
_NAMED = {"noon": 12, "midday": 12, "midnight": 0}
_PAST = {"half": 30, "quarter": 15}
NAMED_MINUTES = frozenset(_PAST)
"""The minutes said as a word before "past" or "to": "half", "quarter"."""

TIME_WORDS = (
    NUMBER_WORDS
    | frozenset(w for ws in _MERIDIEM for w in ws)
    | frozenset(w for ws in _OCLOCK for w in ws)
    | frozenset(_NAMED)
    | frozenset(_PAST)
    | {"past", "to", "oh", "minute", "minutes"}
    | _DAYS
    | frozenset(_PART_OF_DAY)
    | frozenset(w for ws in _TODAY for w in ws)
    | {"on", "at"}
)
"""Every word that can be part of a spoken time of day."""


@dataclass(frozen=True)
class TimeOfDay:
    """A time of day as said."""

    hour: int
    """0 to 23; 1 to 12 when ``twelve_hour``."""
    minute: int
    """0 to 59."""
    twelve_hour: bool = False
    """Said without saying which half of the day ("at five"): ``hour`` or ``hour + 12``."""
    day: str | None = None
    """The day said: "today", "tomorrow" or a weekday ("friday"); None when none was (the
    time's next coming)."""

    def next_after(self, now: datetime) -> datetime | None:
        """The first moment after ``now`` at this time, on ``day`` when one was said (None
        when that is today and the time has gone). When ``twelve_hour``, either half of
        the day, whichever comes first; on a day after today, the daytime one (7:00 to
        18:59: "tomorrow at five" is 17:00, "tomorrow at nine" 9:00). ``now`` is naive, or
        aware in the system's time zone (as ``datetime.now().astimezone()``): then the
        moment carries that day's own offset, so "at 9" said before a change to or from
        summer time is 9 on the clock."""
        today = now.date()
        if self.day is None:
            days = [today, today + timedelta(days=1)]
        elif self.day == "today":
            days = [today]
        elif self.day == "tomorrow":
            days = [today + timedelta(days=1)]
        else:
            ahead = (_WEEKDAYS.index(self.day) - today.weekday()) % 7
            days = [today + timedelta(days=ahead), today + timedelta(days=ahead + 7)]
        moments = []
        for day in days:
            for h in self._hours(later_day=day > today and self.day is not None):
                at = datetime.combine(day, time(h, self.minute))
                moments.append(at.astimezone() if now.tzinfo is not None else at)
        return min((t for t in moments if t > now), default=None)

    def _hours(self, later_day: bool) -> list[int]:
        if not self.twelve_hour:
            return [self.hour]
        if later_day:
            return [self.hour % 12 + (0 if 7 <= self.hour % 12 <= 11 else 12)]
        return [self.hour % 12, self.hour % 12 + 12]

    def __str__(self) -> str:
        """ "17:00", or "5:00 am or pm" when said without the half of the day; then the
        day when one was said: "09:00 tomorrow", "17:00 on friday"."""
        if self.twelve_hour:
            said = f"{self.hour}:{self.minute:02d} am or pm"
        else:
            said = f"{self.hour:02d}:{self.minute:02d}"
        if self.day in _WEEKDAYS:
            return f"{said} on {self.day}"
        return f"{said} {self.day}" if self.day else said


def clock_text(at: datetime, hour_format: object = 24) -> str:
    """ "17:05", or "5:05 PM" when ``hour_format`` is 12: the clock and notify plugins'
    setting of that name."""
    if hour_format == 12:
        return f"{at:%I:%M %p}".removeprefix("0")
    return f"{at:%H:%M}"


def _clock_digits(tok: str) -> tuple[int, int] | None:
    """ "5" -> (5, 0), "5:30" / "5.30" -> (5, 30), "1730" -> (17, 30)."""
    for sep in (":", "."):
        if sep in tok:
            h, _, m = tok.partition(sep)
            if h.isdigit() and m.isdigit() and len(m) == 2:
                return int(h), int(m)
            return None
    if not tok.isdigit():
        return None
    if len(tok) in (3, 4):
        return int(tok[:-2]), int(tok[-2:])
    return int(tok), 0


def _hour_minute(tokens: Sequence[str]) -> tuple[int, int] | None:
    """The clock part: "5", "5:30", "five", "five thirty", "five oh five", "half past five",
    "quarter to six", "ten past five", "twenty minutes to six"."""
    for link, sign in (("past", 1), ("to", -1)):
        if link in tokens:
            i = tokens.index(link)
            before, hour = list(tokens[:i]), parse_int(tokens[i + 1 :])
            if before and before[-1] in ("minute", "minutes"):
                before.pop()
            amount = _PAST.get(" ".join(before)) if len(before) == 1 else None
            if amount is None:
                amount = parse_int(before)
            if hour is None or amount is None or not 0 < amount < 60 or not 0 <= hour <= 23:
                return None
            h, m = divmod((hour * 60 + sign * amount) % (24 * 60), 60)
            return (12 if h == 0 and 0 < hour <= 12 else h), m  # "quarter to one": 12:45
    if len(tokens) == 1:
        if tokens[0][:1].isdigit():
            return _clock_digits(tokens[0])
        one = parse_int(tokens)
        return None if one is None else (one, 0)
    # "five thirty", "five oh five", "seven forty five", "5 30": hour first, then minutes
    hour = parse_int(tokens[:1])
    rest = list(tokens[1:])
    if hour is None:
        return None
    if rest[0] == "oh" and len(rest) == 2:
        minute = parse_int(rest[1:])
        return None if minute is None or minute >= 10 else (hour, minute)
    minute = parse_int(rest)
    return None if minute is None or not 10 <= minute < 60 else (hour, minute)


def _drop_tail(
    toks: list[str], tails: Iterable[tuple[str, ...]]
) -> tuple[list[str], tuple[str, ...] | None]:
    """The words without the first of ``tails`` they end in (never all of them), and it."""
    for tail in tails:
        if len(toks) > len(tail) and tuple(toks[-len(tail) :]) == tail:
            return toks[: -len(tail)], tail
    return toks, None


_Day = tuple[list[str], str, str | None]
"""Words without a day said in them, the day, and the part of the day said with it."""


def _day_before(toks: list[str]) -> _Day | None:
    """ "[on] friday [evening] [at] ..." (the "at" goes with the day: "tomorrow at nine")."""
    start = 1 if toks[:1] == ["on"] else 0
    if len(toks) <= start or toks[start] not in _DAYS:
        return None
    end = start + 1
    part = toks[end] if end < len(toks) and toks[end] in _PART_OF_DAY else None
    end += part is not None
    end += toks[end : end + 1] == ["at"]
    return toks[end:], toks[start], part


def _day_after(toks: list[str]) -> _Day | None:
    """ "... [on] friday [evening]"."""
    part = toks[-1] if toks and toks[-1] in _PART_OF_DAY else None
    end = len(toks) - (part is not None)
    if not end or toks[end - 1] not in _DAYS:
        return None
    start = end - 1 - (toks[end - 2 : end - 1] == ["on"])
    return toks[:start], toks[end - 1], part


def _today(toks: list[str]) -> _Day | None:
    """ "tonight [at] ...", "this evening [at] ...", "... tonight", "... this evening"."""
    for said, part in _TODAY_BEFORE.items():
        n = len(said)
        if len(toks) > n and tuple(toks[:n]) == said:
            return toks[n + (toks[n : n + 1] == ["at"]) :], "today", part
    rest, tail = _drop_tail(toks, _TODAY)
    return None if tail is None else (rest, "today", _TODAY[tail])


def parse_time_of_day(tokens: Sequence[str]) -> TimeOfDay | None:
    """The time of day the words say, on the day they say if any, or None when they are
    not (only) that."""
    toks = list(tokens)
    toks, day, part = _day_before(toks) or _day_after(toks) or _today(toks) or (toks, None, None)
    when = _time_only(toks) if toks else None
    return None if when is None else _on_day(when, day, part)


def day_from_text(text: str, when: TimeOfDay) -> tuple[str, TimeOfDay]:
    """A day that a text slot took from before the time, given to the time: in "remind me
    to call mum tomorrow at five" the text is "call mum tomorrow" and the time "five";
    this makes them "call mum" and five tomorrow. Unchanged when the time has its day."""
    said = _day_after(text.split())
    if when.day is not None or said is None or not said[0]:
        return text, when
    rest, day, part = said
    moved = _on_day(when, day, part)
    return (text, when) if moved is None else (" ".join(rest), moved)


def _on_day(when: TimeOfDay, day: str | None, part: str | None) -> TimeOfDay | None:
    """The time on ``day``, in the half of the day ``part`` says ("tomorrow evening")."""
    if part is None:
        return replace(when, day=day)
    pm = _PART_OF_DAY[part]
    if not when.twelve_hour:
        return replace(when, day=day) if (when.hour >= 12) == pm else None
    if part == "night" and when.hour == 12:  # "tomorrow night at twelve": which midnight?
        return None
    return TimeOfDay(when.hour % 12 + (12 if pm else 0), when.minute, day=day)


def _time_only(tokens: Sequence[str]) -> TimeOfDay | None:
    toks, half = _drop_tail(list(tokens), _MERIDIEM)
    pm = None if half is None else _MERIDIEM[half]
    toks, _ = _drop_tail(toks, _OCLOCK)
    if not toks:
        return None
    if len(toks) == 1 and toks[0] in _NAMED:  # "noon": which half is said already
        return None if pm is not None else TimeOfDay(_NAMED[toks[0]], 0)
    hm = _hour_minute(toks)
    if hm is None:
        return None
    hour, minute = hm
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    if pm is None:
        if hour == 0 or hour > 12:
            return TimeOfDay(hour, minute)
        return TimeOfDay(hour, minute, twelve_hour=True)
    if not 1 <= hour <= 12:
        return None
    return TimeOfDay(hour % 12 + (12 if pm else 0), minute)


@functools.cache
def clock_phrases() -> tuple[str, ...]:
    """The times of day as Whisper writes them when it hears them said: "5", "5 p.m.",
    "5 a.m.", "5:30", "half past 5", "quarter past 5", "quarter to 5", for each hour 1 to
    12, and "noon", "midnight". The times a time slot may be asked about when its words
    were heard as none (``timefills.time_fills``)."""
    said: list[str] = ["noon", "midnight"]
    for h in range(1, 13):
        said += [f"{h}", f"{h} p.m.", f"{h} a.m.", f"{h}:30", f"{h}:15", f"{h}:45"]
        said += [f"half past {h}", f"quarter past {h}", f"quarter to {h}"]
    return tuple(said)


MINUTES_SAID = (5, 10, 20, 25)
"""The minutes said before "past" or "to" an hour that are neither a quarter nor a half:
"twenty past eight", "ten to nine"."""


@functools.cache
def minute_phrases(minute: int) -> tuple[str, ...]:
    """The times of day said with ``minute`` before "past" or "to" each hour, as Whisper
    writes them: "20 past 8", "20 to 8"; none for a minute not in ``MINUTES_SAID``. Asked
    about only where that number was heard (``timefills.time_fills``): offered with every
    hour, a "5" or "10" heard would crowd out the times said most."""
    if minute not in MINUTES_SAID:
        return ()
    return tuple(f"{minute} {rel} {h}" for h in range(1, 13) for rel in ("past", "to"))


_PARTS_SAID_AFTER = tuple(ws for ws in _MERIDIEM if len(ws) == 3)
"""The halves of the day said after a time in three words ("in the morning"), which
``day_frame`` keeps as heard. ("at night" is not among them: tiny.en writes "nine" as
"night".)"""


def day_frame(ws: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """The words of a time slot split around an "at" and a day said first, or a day said
    last ("tonight" and "this evening" too), and a half of the day said after the time:
    "tomorrow at night" -> (["tomorrow", "at"], ["night"], []), "tonight ive had" ->
    (["tonight", "at"], ["ive", "had"], []), "at f past 7 on friday" -> (["at"], ["f",
    "past", "7"], ["on", "friday"]), "on saturday at high in the morning" -> (["on",
    "saturday", "at"], ["high"], ["in", "the", "morning"]). These are kept as heard; the
    rest is what a time would stand in (nothing, for a day alone: "tomorrow")."""
    before, rest, after = _day_frame(ws)
    for part in _PARTS_SAID_AFTER:
        if len(rest) > len(part) and tuple(rest[-len(part) :]) == part:
            return before, rest[: -len(part)], [*part, *after]
    return before, rest, after


def _day_frame(ws: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    toks = list(ws)
    if toks[:1] == ["at"]:
        before, rest, after = _day_frame(toks[1:])
        return ["at", *before], rest, after
    start = 1 if toks[:1] == ["on"] else 0
    if len(toks) > start and toks[start] in _DAYS:
        end = start + 1 + (toks[start + 1 : start + 2] == ["at"])
        return [*toks[: start + 1], "at"], toks[end:], []
    for said in _TODAY_BEFORE:  # "tonight at ...", "this evening ..."
        n = len(said)
        if tuple(toks[:n]) == said:
            return [*said, "at"], toks[n + (toks[n : n + 1] == ["at"]) :], []
    if len(toks) > 1 and toks[-1] in _DAYS:
        cut = len(toks) - 1 - (toks[-2] == "on")
        day = toks[-1]
        return [], toks[:cut], (["on", day] if day in _WEEKDAYS else [day])
    rest, today = _drop_tail(toks, _TODAY)
    return [], rest, [] if today is None else list(today)
