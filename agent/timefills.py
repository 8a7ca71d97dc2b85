"""Rescoring's candidates for a time of day heard as no time: "remind me to take the bins out
at f pest 7", "remind me tomorrow at night to feed the cat", "remind me at IBM to water the
plants".

A command whose time slot took words that are no time gets, beside the candidates of
``agent.rescore``, its phrase said with the times nearest those words (``time_fills``: "...
at half past 7"). Where the words hold no number, the audio is first asked which hour comes
after the words said before it (``hour_prefix``), judged as a number heard as none is
(``rescore.named_number``): where it names one, only that hour's times are offered, and
where it was asked right after "at", only those that open with it ("at 8", not "half past
8", whose token after "at" is "half"; ``_named_after_at``); where it makes no hour likely
(``rescore.no_number``: "remind me at home to ..."), none are
(``Recognizer._times`` asks and decides). Minutes heard without their hour ("20 past
grade", "I'd find 30") are no hour: it is asked after them. The audio is asked about
"noon" and "midnight" with the hours (``NAMED_HOURS``), and about the hour after a day
heard with no time at all ("remind me on monday to ...": after "remind me on monday at");
for such a day, only a time the audio names is offered. Where it names 5 or 10, the
minutes of "ten to nine" heard as "I tend to", the hour after "at 10 to" and "at 10 past"
is asked too (``minutes_asks``); up to two words after "quarter past" are taken for an
hour misheard (``HOUR_WORDS_HEARD``: "quarter past I need to ..."). The words are read
with a reminder's opening put right where that makes its phrase ("reminds me ...";
``time_heard``).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rapidfuzz import fuzz

from agent.loader import Command, Registry
from agent.matching import (
    FUNCTION_WORDS,
    CompiledTemplate,
    Variant,
    bare,
    compile_template,
    match_template,
    with_text_slot,
)
from agent.numbers import say_int
from agent.rescore import SOUND_WEIGHT, Candidate
from agent.text import words
from agent.timeofday import (
    MINUTES_SAID,
    NAMED_MINUTES,
    clock_phrases,
    day_frame,
    minute_phrases,
    parse_time_of_day,
)
from agent.wake import sounds

TIME_FILLS = 3
"""Times asked about for a time slot whose words are no time ("remind me at f past 7 to
...", ``time_fills``), those nearest the words heard."""
TIME_WORDS_HEARD = 3
"""At most this many words are taken for a time misheard ("f past 7"); more are no time..."""
HOUR_WORDS_HEARD = 2
"""... but for minutes heard with their link, "quarter past", "half past", "20 past",
"quarter to", and at most this many words after them for the hour ("quarter past i need":
"nine to call the plumber" written "I need to call the plumber")."""
OPENING_WORD = 80.0
"""A word heard is taken for a phrase's opening word this near it in spelling ("reminds",
"reminded" for "remind"), where the time rescue mends the words (``time_heard``)."""
HOURS = range(1, 13)
"""The hours a time of day heard as none is asked about (``hour_prefix``)."""
NAMED_HOURS = ("noon", "midnight")
"""The times said as a word, asked about with ``HOURS``: tiny.en writes "remind me at
midnight to ..." as "remind me I'd like to ...", and drops "at noon" from "remind me on
monday at noon to ...", yet asked what follows "remind me at" the audio names them."""
HOURS_ASKED: tuple[int | str, ...] = (*HOURS, *NAMED_HOURS)
"""What the audio is asked about after the words before a time heard as none."""


def _loosened(t: CompiledTemplate) -> tuple[CompiledTemplate, str] | None:
    """A template with one time slot, that slot taking any words ("remind me at {when} to
    {text}"), and the slot's name; None for a template without one."""
    times = [name for name, kind in t.slots.items() if kind == "time"]
    if t.is_regex or len(times) != 1:
        return None
    return _compiled_with_text(t.source, times[0]), times[0]


@functools.cache
def _compiled_with_text(source: str, name: str) -> CompiledTemplate:
    return compile_template(with_text_slot(source, name))


def _spelt(ws: Sequence[str]) -> str:
    """Words with numbers written out as words: "half past 7" -> "half past seven"."""
    out: list[str] = []
    for w in ws:
        parts = w.split(":")
        if all(p.isdigit() and int(p) < 100 for p in parts):
            out += [say_int(int(p)) for p in parts]
        else:
            out.append(w)
    return " ".join(out)


def _misheard_time(ws: Sequence[str]) -> tuple[list[str], list[str], list[str]] | None:
    """A time slot's words as ``day_frame`` splits them, if what a time would stand in is
    up to ``TIME_WORDS_HEARD`` words that are none (none at all after a day: "remind me
    on monday to ...", its time unheard); None where a time is heard with words
    after it ("5pm on for id": a day misheard, not a time), or after a function word ("of 9
    pm": the word before it misheard, which ``rescore.repairs`` puts right). A number
    before "past" is no time heard but its minutes ("20 past grade")."""
    before, rest, after = day_frame(ws)
    said_minutes = rest[1:2] in (["past"], ["to"]) and (
        rest[0] in NAMED_MINUTES or rest[0].isdigit()
    )
    most = 2 + HOUR_WORDS_HEARD if said_minutes else TIME_WORDS_HEARD
    if len(rest) > most or not (rest or before):
        return None
    if rest[:1] and rest[0] in FUNCTION_WORDS and parse_time_of_day(rest[1:]) is not None:
        return None  # a time heard after a word misheard ("of 9 pm"): ``rescore.repairs``
    for j in range(1, len(rest) + 1):
        if parse_time_of_day(rest[:j]) is not None and rest[j : j + 1] != ["past"]:
            return None
    return before, rest, after


def _named_after_at(rest: Sequence[str]) -> bool:
    """Was the hour of a time heard as ``rest`` asked right after "at" (``hour_prefix``),
    with nothing said before it? Not where minutes and their link were heard ("quarter
    past i need", "20 past grade", "20 to grade"): the hour follows them ("quarter past"
    and "20 past" are asked after)."""
    return not {"quarter", "past", "to"} & set(rest)


def _numbers(said: str) -> list[str]:
    """The words of a time, an hour and its minutes apart: "5:30" -> ["5", "30"]."""
    return [n for w in words(said) for n in w.split(":")]


def _times_near(
    ws: Sequence[str], k: int, hour: int | str | None = None, also: Sequence[str] = ()
) -> list[str]:
    """The ``k`` times of day (``clock_phrases``, and ``minute_phrases`` of a minute heard:
    "20 past 8"; of ``hour`` when given) nearest words that
    are none (``_misheard_time``; in spelling with numbers as words, and ``SOUND_WEIGHT`` in
    sound), the day heard first or last kept ("tomorrow at night" -> "tomorrow at 9"); only
    those with every number heard (minutes above 12 in "5:30" too), and "a.m." and "p.m."
    only where an "m" ends the words; then the times ``also`` ("10 to 9", named by the
    audio: ``minutes_asks``)."""
    frame = _misheard_time(ws)
    if frame is None or (not frame[1] and hour is None):  # none heard: the hour named only
        return []
    before, rest, after = frame
    heard_numbers = [w for w in rest if w.isdigit()]
    numbers = [*heard_numbers, *([] if hour is None else [str(hour)])]
    heard = _spelt(rest)
    heard_sound = " ".join(sounds(heard.split()))

    def near(said: str) -> float:
        spelt = _spelt(words(said))
        sound = fuzz.ratio(heard_sound, " ".join(sounds(spelt.split())))
        return (1 - SOUND_WEIGHT) * fuzz.ratio(heard, spelt) + SOUND_WEIGHT * sound

    # "a.m." and "p.m." end in "m": a time heard without that sound was said without them
    meridiem = rest[-1:] != [] and rest[-1].endswith("m")
    said = [*clock_phrases(), *(p for n in set(heard_numbers) for p in minute_phrases(int(n)))]
    # minutes heard ("find 30") are looked for after an hour's colon too ("5:30")
    apart = any(int(n) > max(HOURS) for n in heard_numbers)
    fits = [
        p
        for p in said
        if all(n in (_numbers(p) if apart else words(p)) for n in numbers)
        and (meridiem or not p.endswith(".m."))
    ]
    first = str(hour) if hour is not None and _named_after_at(rest) else None
    if first is not None:  # the audio named it right after "at": the time opens with it
        fits = [p for p in fits if _numbers(p)[0] == first]
    ranked = sorted(fits, key=lambda p: (p != first, -near(p), p))[:k]
    ranked += [p for p in also if p not in ranked]
    return [" ".join([*before, p, *after]) for p in ranked]


def _say(v: Variant, slots: Mapping[str, Any]) -> str:
    """A variant said with its slots filled: "remind me at {when} to {text}" -> "remind me
    at 5 p.m. to water the plants"."""
    return " ".join(_say_words(v.spoken.split(), slots))


def _before_slot(v: Variant, slot: str) -> list[str]:
    """The words a variant says before a slot: "remind me at" before "{when}"."""
    spoken = v.spoken.split()
    return spoken[: spoken.index(f"{{{slot}}}")]


def _say_words(spoken: Sequence[str], slots: Mapping[str, Any]) -> list[str]:
    return [str(slots[w[1:-1]]) if w[:1] == "{" else w for w in spoken]


_TimeSlot = tuple[Command, CompiledTemplate, Variant, dict[str, Any], str, list[str]]
"""A command's template the heard words fit but for its time slot: the command, the
template, its variant nearest the words, the slots heard, the time slot's name and words."""


def _time_slots(registry: Registry, heard: Sequence[str]) -> Iterator[_TimeSlot]:
    """The templates with one time slot that the heard words fit with that slot taking any
    words, where those words are no time ("remind me tomorrow at night to feed the cat")."""
    plain = bare(heard)
    for cmd in registry.commands:
        for t in cmd.templates:
            loose = _loosened(t)
            m = match_template(loose[0], heard) if loose is not None else None
            if loose is None or m is None or not isinstance(m.slots.get(loose[1]), str):
                continue
            slot, time_words = loose[1], words(m.slots[loose[1]])
            if parse_time_of_day(time_words) is not None or not t.variants:
                continue
            slots = m.slots
            variant = max(t.variants, key=lambda v: fuzz.ratio(plain, bare(_say(v, slots).split())))
            yield cmd, t, variant, slots, slot, time_words


def _opened(t: CompiledTemplate, heard: Sequence[str]) -> Iterator[list[str]]:
    """The heard words with a variant's opening of two or more words put in place of as
    many words heard, each ``OPENING_WORD`` near its own ("reminds me" -> "remind me")."""
    for v in t.variants:
        opening = v.spoken.split("{", 1)[0].split()
        n = len(opening)
        if n < 2 or len(heard) <= n or list(heard[:n]) == opening:
            continue
        if all(fuzz.ratio(h, o) >= OPENING_WORD for h, o in zip(heard, opening, strict=False)):
            yield [*opening, *heard[n:]]


def time_heard(registry: Registry, heard: Sequence[str]) -> list[str]:
    """The words the time rescue reads (``hour_prefix``, ``time_fills``): those heard, where
    they make a phrase with its time misheard exactly; else the first of them with a
    phrase's opening put in for words near it one for one (``_opened``) that does:
    "reminds me to feed the cat at quarter six" -> "remind me to ..." (read loosely as
    heard, "cat" was taken for "at", the time for "at quarter six", the text for "feed");
    else those heard, which ``_time_slots`` may fit loosely. "at" is not put in for another
    word here: over every set, that made times of words that were none ("call the doctor
    and when", said "in twenty minutes", set for 1 o'clock)."""
    loose = [
        (t, found) for cmd in registry.commands for t in cmd.templates if (found := _loosened(t))
    ]

    def misheard(ws: Sequence[str], time: tuple[CompiledTemplate, str]) -> bool:
        m = match_template(time[0], ws, fuzzy=False)
        when = m.slots.get(time[1]) if m is not None else None
        return isinstance(when, str) and _misheard_time(words(when)) is not None

    if any(misheard(heard, time) for _, time in loose):
        return list(heard)
    for t, time in loose:
        for ws in _opened(t, heard):
            if misheard(ws, time):
                return ws
    return list(heard)


def hour_prefix(registry: Registry, heard: Sequence[str]) -> str | None:
    """Where a time slot's words are no time and hold no number ("remind me at IBM to
    ..."), or are a day alone ("remind me on monday to ..."): the words said before its
    hour, to ask the audio which of ``HOURS_ASKED`` comes next
    (``named_number``, as for a number heard as none; ``time_fills(hour=...)`` then offers
    that hour's times). They are the phrase's words before the slot, as its variant
    nearest the words says them ("remind me to take the bins out at"), a day heard before
    the time ("remind me tomorrow at"), "at" where neither ends in it ("remind me I'll be
    able to ..." -> "remind me at"), and "half past" where "past" was heard ("at the past
    chairman"): after "at", a time said as "half past 7" names the hour "1" (the token
    after "at" is "half"); "quarter past" where both were, "quarter to" where "quarter"
    was without "past" ("at quarter till it"), and the minutes heard before "past" where
    they were ("at 20 past grade" -> "at 20 past"). Spelling and sound cannot name the
    hour ("IBM" is nearer "6 a.m." than "5 p.m."). The first template whose time slot
    the words fit so is asked about; None where a number was heard that is no minutes
    (one before "past", or above 12: "at find 30") but the hour, or no time slot's words
    are misheard."""
    for _cmd, _t, variant, slots, slot, time_words in _time_slots(registry, heard):
        frame = _misheard_time(time_words)
        if frame is None:
            continue
        before, rest, _after = frame
        past = [a for a, b in itertools.pairwise(rest) if a.isdigit() and b == "past"]
        minutes = {*past, *(w for w in rest if w.isdigit() and int(w) > max(HOURS))}
        if any(w.isdigit() for w in time_words if w not in minutes):  # a day holds none
            continue
        said = [*_say_words(_before_slot(variant, slot), slots), *before]
        if said[-1:] != ["at"]:
            said.append("at")
        if "quarter" in rest:
            said += ["quarter", "past" if "past" in rest else "to"]
        elif "past" in rest:
            said += [*(past or ["half"])[:1], "past"]
        return " ".join(said)
    return None


def minutes_asks(ask: str | None, hour: int | str | None) -> list[tuple[str, str]]:
    """Where the audio named ``hour`` after words ending in "at" (``hour_prefix``) and it
    is a number said as minutes too (``MINUTES_SAID``: "ten to nine" is written "I tend
    to", and asked after "remind me at" the audio names 10), the words to ask the hour
    after once more, each with the time's words before the hour: ("remind me at 10 to",
    "10 to"), ("remind me at 10 past", "10 past"). Where the audio names one there ("9"),
    the time is those words and it, "10 to 9" (``time_fills(also=...)``); where it names
    none, "at 10" was the hour."""
    if ask is None or not isinstance(hour, int) or hour not in MINUTES_SAID:
        return []
    if ask.split()[-1:] != ["at"]:
        return []
    return [(f"{ask} {minutes}", minutes) for minutes in (f"{hour} to", f"{hour} past")]


def time_fills(
    registry: Registry,
    heard: Sequence[str],
    k: int = TIME_FILLS,
    hour: int | str | None = None,
    also: Sequence[str] = (),
) -> list[Candidate]:
    """Phrases of commands with a time slot, where the heard words fit the phrase but those
    of the time are no time ("remind me tomorrow at night to feed the cat", "remind me to
    take the bins out at f past 7"): the phrase, as its variant nearest the words says it,
    with the text heard and each of the ``k`` times nearest the words (``_times_near``), of
    ``hour`` if given (``hour_prefix``), said after "at" where neither the variant nor the
    day heard says it ("remind me I'd find 30 to ..." -> "remind me at 5:30 to ...", as
    ``hour_prefix`` asks; the command's template that takes it so), and with each time
    ``also`` ("10 to 9": ``minutes_asks``). The audio is asked about them as about any
    candidate."""
    found: dict[str, Candidate] = {}
    for cmd, t, variant, slots, slot, time_words in _time_slots(registry, heard):
        says_at = _before_slot(variant, slot)[-1:] == ["at"]
        for when in _times_near(time_words, k, hour, also):
            if not says_at and "at" not in when.split():
                when = f"at {when}"
            said = _say(variant, {**slots, slot: when})
            if said in found:
                continue
            for said_as in [t, *(other for other in cmd.templates if other is not t)]:
                exact = match_template(said_as, words(said), fuzzy=False)
                if exact is not None:
                    found[said] = Candidate.of(cmd, said_as, said, exact.slots)
                    break
    return list(found.values())
