"""Rescoring's candidates for a time of day heard as no time: "remind me to take the bins out
at f pest 7", "remind me tomorrow at night to feed the cat", "remind me at IBM to water the
plants".

A command whose time slot took words that are no time gets, beside the candidates of
``agent.rescore``, its phrase said with the times nearest those words (``time_fills``: "...
at half past 7"). Where the words hold no number, the audio is first asked which hour comes
after the words said before it (``hour_prefix``), judged as a number heard as none is
(``rescore.named_number``): where it names one, only that hour's times are offered; where
it makes no hour likely (``rescore.no_number``: "remind me at home to ..."), none are
(``Recognizer._times`` asks and decides).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rapidfuzz import fuzz

from agent.loader import Command, Registry
from agent.matching import (
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
from agent.timeofday import clock_phrases, day_frame, parse_time_of_day
from agent.wake import sounds

TIME_FILLS = 3
"""Times asked about for a time slot whose words are no time ("remind me at f past 7 to
...", ``time_fills``), those nearest the words heard."""
TIME_WORDS_HEARD = 3
"""At most this many words are taken for a time misheard ("f past 7"); more are no time."""
HOURS = range(1, 13)
"""The hours a time of day heard as none is asked about (``hour_prefix``)."""


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
    one to ``TIME_WORDS_HEARD`` words that are none; None where a time is heard with words
    after it ("5pm on for id": a day misheard, not a time)."""
    before, rest, after = day_frame(ws)
    if not 0 < len(rest) <= TIME_WORDS_HEARD:
        return None
    if any(parse_time_of_day(rest[:j]) is not None for j in range(1, len(rest) + 1)):
        return None
    return before, rest, after


def _times_near(ws: Sequence[str], k: int, hour: int | None = None) -> list[str]:
    """The ``k`` times of day (``clock_phrases``; of ``hour`` when given) nearest words that
    are none (``_misheard_time``; in spelling with numbers as words, and ``SOUND_WEIGHT`` in
    sound), the day heard first or last kept ("tomorrow at night" -> "tomorrow at 9"); only
    those with every number heard, and "a.m." and "p.m." only where an "m" ends the words."""
    frame = _misheard_time(ws)
    if frame is None:
        return []
    before, rest, after = frame
    numbers = [w for w in rest if w.isdigit()]
    if hour is not None:
        numbers.append(str(hour))
    heard = _spelt(rest)
    heard_sound = " ".join(sounds(heard.split()))

    def near(said: str) -> float:
        spelt = _spelt(words(said))
        sound = fuzz.ratio(heard_sound, " ".join(sounds(spelt.split())))
        return (1 - SOUND_WEIGHT) * fuzz.ratio(heard, spelt) + SOUND_WEIGHT * sound

    # "a.m." and "p.m." end in "m": a time heard without that sound was said without them
    meridiem = rest[-1].endswith("m")
    fits = [
        p
        for p in clock_phrases()
        if all(n in words(p) for n in numbers) and (meridiem or not p.endswith(".m."))
    ]
    ranked = sorted(fits, key=lambda p: (-near(p), p))
    return [" ".join([*before, p, *after]) for p in ranked[:k]]


def _say(v: Variant, slots: Mapping[str, Any]) -> str:
    """A variant said with its slots filled: "remind me at {when} to {text}" -> "remind me
    at 5 p.m. to water the plants"."""
    return " ".join(_say_words(v.spoken.split(), slots))


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


def hour_prefix(registry: Registry, heard: Sequence[str]) -> str | None:
    """Where a time slot's words are no time and hold no number ("remind me at IBM to
    ..."): the words said before its hour, to ask the audio which of ``HOURS`` comes next
    (``named_number``, as for a number heard as none; ``time_fills(hour=...)`` then offers
    that hour's times). They are the phrase's words before the slot, as its variant
    nearest the words says them ("remind me to take the bins out at"), a day heard before
    the time ("remind me tomorrow at"), "at" where neither ends in it ("remind me I'll be
    able to ..." -> "remind me at"), and "half past" where "past" was heard ("at the past
    chairman"): after "at", a time said as "half past 7" names the hour "1" (the token
    after "at" is "half"). Spelling and sound cannot name the hour ("IBM" is nearer "6
    a.m." than "5 p.m."). The first template whose time slot the words fit so is asked
    about; None where a number was heard (that is the hour), or no time slot's words are
    misheard."""
    for _cmd, _t, variant, slots, slot, time_words in _time_slots(registry, heard):
        frame = _misheard_time(time_words)
        if frame is None or any(w.isdigit() for w in time_words):  # a day around it holds none
            continue
        before, rest, _after = frame
        spoken = variant.spoken.split()
        said = [*_say_words(spoken[: spoken.index(f"{{{slot}}}")], slots), *before]
        if said[-1:] != ["at"]:
            said.append("at")
        if "past" in rest:
            said += ["half", "past"]
        return " ".join(said)
    return None


def time_fills(
    registry: Registry, heard: Sequence[str], k: int = TIME_FILLS, hour: int | None = None
) -> list[Candidate]:
    """Phrases of commands with a time slot, where the heard words fit the phrase but those
    of the time are no time ("remind me tomorrow at night to feed the cat", "remind me to
    take the bins out at f past 7"): the phrase, as its variant nearest the words says it,
    with the text heard and each of the ``k`` times nearest the words (``_times_near``), of
    ``hour`` if given (``hour_prefix``). The audio is asked about them as about any
    candidate."""
    found: dict[str, Candidate] = {}
    for cmd, t, variant, slots, slot, time_words in _time_slots(registry, heard):
        for when in _times_near(time_words, k, hour):
            said = _say(variant, {**slots, slot: when})
            exact = match_template(t, words(said), fuzzy=False)
            if exact is not None and said not in found:
                found[said] = Candidate.of(cmd, t, said, exact.slots)
    return list(found.values())
