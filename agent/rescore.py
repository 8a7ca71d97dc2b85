"""Rescoring: when the words after the wake phrase match no command, ask the model which
command the audio says.

Whisper tiny.en mishears short commands in ways no text matching can undo ("what is the
maid" for "what is the date", "what made it to me" for "what day is it today"). The audio
still holds the answer: forced decoding gives each candidate sentence's mean token
log-probability. The candidates are the command phrases closest to what was heard
(``CANDIDATES`` of them, by string similarity), said as a person says them: articles kept, a
question mark after a question, and number slots filled with the numbers that were heard
("sense a timer for five minutes" -> "set a timer for 5 minutes"), or, when none was, with
the numbers whose words sound nearest (``UNHEARD_NUMBERS``: "start at the end minute timer"
-> "start a 10 minute timer"), unless the audio, asked which number comes after the phrase's
words before the slot, names one clearly (``named_number``: "set up a minute timer" -> "set
a 5 minute timer"). None leaves out a heard "yesterday" (``KEPT_WORDS``). A
command whose slot takes any words is offered as the words heard, mended (``repairs``: "3
mind me to call the doctor ..." -> "remind me to call the doctor ..."); one whose time of
day was heard as no time, with the times nearest the words (``agent.timefills``: "remind me
to take the bins out at f pest 7" -> "... at half past 7"), of the hour the audio names where
no number was heard, and none where it makes no hour likely there (``no_number``: "remind me
at home to ..."). The model's own transcript is scored beside them as
the yardstick. A candidate is taken only when the audio supports it well on its own
(``MIN_LOGPROB``), nearly as well as the model's own reading (``MAX_GAP``; ``SHORTER_GAP``
for a phrase of fewer words than were heard, ``LONGER_GAP`` for one of more tokens,
``FIXED_GAP`` for one with no slot), and clearly better than any candidate that would do
something else (``MIN_MARGIN``; ``LOST_END_MARGIN`` where the two phrases are a word's end
apart, "day" and "date"), unless it alone holds every word heard (``covers``: "what day is
today"). Two kinds of request say more than a command's phrase and are not taken for
it: one whose words go on past the phrase where the audio makes them part of the same
sentence ("what time is it in london") or where Whisper wrote a name in them ("what time is
it in London?"; both in ``agent.leftoff``), and one where the phrase's "it" would stand for
a thing named ("what time is the train"; ``named``). Nor are the words heard after a whole
phrase swapped for a command's ("how much time is left on the oven" is not "... on the
timer"; ``replaces_past``).

A command that did match but whose free text the beam's next reading holds in plainer words
("the rain in Spain" for "Lorraine in Spain") takes those (``plainer``). A free-text slot
whose present values the plugin knows (the timers running, ``command(known=...)``) is
offered with each of them: "cancel this faster timer" with a pasta timer running is asked
about as "cancel this pasta timer" (``known_fills``, ``KNOWN_GAP``), and the phrases are
among the candidates of a rescue too.

The limits trade rescued commands against requests no command serves that end up running
the nearest one ("how long is the film" -> "how long is left"). Measured on
eval/manifest.yaml (docs/ACCURACY.md, which has the whole curve): none of the rescues ran a
wrong command, and none of 96 spoken requests no plugin serves ran a command.

The same question settles a wake phrase the words only came near ("Okay now move" for
"okay nabu", ``WakeMatcher.near``): the phrase is put in place of the opening words
(``with_phrase``), and it counts as said if that reading loses at most ``WAKE_MAX_LOSS`` of
total log-probability against the words as heard (``WAKE_MAX_LOSS_BEFORE_COMMAND`` when
the words after it are, or come near, a command).
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jellyfish
from rapidfuzz import fuzz

from agent.loader import Command, Match, Registry
from agent.matching import (
    ARTICLES,
    FUNCTION_WORDS,
    CompiledTemplate,
    TemplateMatch,
    bare,
    loose_variants,
    match_template,
)
from agent.numbers import NUMBER_WORDS, Said, parse_int, say_int
from agent.text import words
from agent.wake import sounds

CANDIDATES = 8
PER_COMMAND = 3
"""At most this many of the candidates are phrasings of one command, so a command with many
("what time is it", "what is the time", ...) does not crowd the others out."""
SOUND_WEIGHT = 0.3
"""Candidates are ranked by how near each phrase is to the words heard in spelling, and this
much by how near in sound: the same comparison of their Metaphone keys (``wake.sounds``).
"console all timers" is nearer in spelling to "clear all timers" (82 against 80) but sounds
like "cancel all timers" (KNSL ... against KLR ...), which was said."""
MIN_LOGPROB = -2.5
"""A candidate's mean token log-probability must reach this."""
MAX_GAP = 1.2
"""... and be at most this far below the model's own transcript ..."""
SHORTER_GAP = 1.0
"""... or this far, for a phrase of fewer words than were heard: it would leave out something
the speaker said ("how long is the film" is 1.03 and 1.15 above "how long is left" at 10 dB
SNR; the misheard commands it still rescues, "cancel all time in" or "what may you need to
make" for shorter phrases, are 0.8 to 1.0 away)."""
LONGER_GAP = 1.0
"""... or this far, for a phrase that takes more of Whisper's tokens than the words heard:
the model's decoder is a language model too, and the tokens a phrase adds where the words
heard had none are the ones it predicts best ("what time it is" after "can you tell me"),
so they lift the phrase's mean without the audio holding them. "can you tell me a story"
came 1.21 to 1.28 from "can you tell me what time it is" at 10 dB SNR, denoised
(eval/computer_talk.yaml); the longer phrases that were right came at most 0.83 away
("console oil timers" -> "cancel all the timers"; docs/ACCURACY.md, twentieth run)."""
FIXED_GAP = 1.3
"""... or this far, for a phrase with no slot to fill ("what day is it today"): only the
phrasings of each command are offered then, not one more for each number that would fill a
slot, so fewer candidates get the chance to fit the audio by luck. tiny.en writes "what
made it to me" and "what in the maid" for espeak-ng's "what day is it today" and "what is
the date" 1.22 to 1.60 away; "tell me a talk", a joke asked for, came 1.43 from "tell me
the time" (eval/held_out.yaml), and "santa alarm for 7" 1.29 from a timer's phrase with the
number filled in (eval/fresh_voices.yaml; docs/ACCURACY.md, tenth run)."""
MIN_MARGIN = 0.5
"""... and this far above the best candidate that would do something else (another command,
or the same command with other slots) ..."""
LOST_END_MARGIN = 0.3
"""... or this far above one that is the same phrase but for one word said with more, or
less, at its end ("what day is it today", "what date is it today"; ``ends_apart``), the
question ``LOST_END_GAP`` asks. Over every clip of the shipped sets where the best
candidate was one of such a pair of two commands, it led the other by at most 0.24 where
the other was said (3 utterances), and by 0.18 or more where it was itself (100;
docs/ACCURACY.md, thirty-sixth run)."""
UNHEARD_NUMBERS = range(1, 61)
"""When no number was heard, a number slot is filled with the numbers from here whose words
bring the phrase closest to the words heard ("start at the end minute timer": "ten") ..."""
UNHEARD_FILLS = 2
"""... this many of them for each phrasing, and the audio is asked as for any candidate ..."""
NUMBER_MARGIN = 2.0
"""... unless the audio names one: asked which number comes after the phrase's words before
the slot ("set up a minute timer": after "set a"; ``number_prefix``), the one whose token it
makes this much likelier (log-probability) than any other number's fills the slot as if it
had been heard (``named_number``). Asked so about the utterance the pipeline cut from each
of the 334 timer commands of the shipped sets, after the words said before the number, the
audio's likeliest number was the one said in 331; the other 3 led by at most 1.37, and 325
of the 331 by 2.0 or more (docs/ACCURACY.md, thirty-fourth run) ..."""
NUMBER_MIN_LOGPROB = -4.0
"""... and whose own log-probability there reaches this. Asked after "set a", "start a" and
"set a timer for" where no number was said (15 clips: "set a timer", "start the timer",
"set a pasta timer", "set a timer for an hour", "set an alarm", ...), the likeliest number
led by up to 2.56 but came at -4.75 or lower; where a number was said, above -3.7 but once."""
SWAP_GAP = 0.6
"""A command matched with a slot gives way to another command's phrase that differs from
the heard words only in the slot's one word (``swaps``) if the audio supports that phrase
at most this much less than the words heard (mean token log-probability); ``KNOWN_GAP``
less where the slot holds none of the values the plugin knows for it (``names_unknown``:
"cancel out timers" across a room, 0.64 and 0.79 below, with no timer named "out";
docs/ACCURACY.md, thirty-fifth run)."""
LOST_END_GAP = 0.3
"""A command matched with no slot gives way to another command's phrase that is the heard
words with one word said with more at its end (``lost_ends``: "what is the day" ->
"what is the date") if the audio supports that phrase at most this much less than the
words heard. Where "date" was said and tiny.en wrote "day", that phrase scored 0.23 below
to 0.21 above; where "day" was said, 0.37 below or lower (the whole clips of five sets,
docs/ACCURACY.md, eighteenth run)."""
WAKE_NEAR = 40.0
"""Opening words this close to a wake phrase (``WakeMatcher.near``) are checked. In white
noise tiny.en writes flite's "hey computer" as "They can see", "Thank you for" (45-48) or
cuts it where the audio does not ("They confuse | us, spark the 10 minute timer": the right
cut, "They confuse us", is 58); at 60 those were never asked about (docs/ACCURACY.md)."""
WAKE_CANDIDATES = 4
"""At most this many cuts near a phrase are checked for one utterance, and as many phrases
in front of a command heard without one."""
WAKE_OPENING_EXTRA = 2
"""Words before an exact command that may be the phrase misheard: up to this many more than
the phrase has ("Take a viewer, remind me to call the doctor in 20 minutes." for "hey
computer, ..." a few metres away in a room; "They can either cancel all timers."). The audio
settles it as for any opening near the phrase (``WAKE_MAX_LOSS_BEFORE_COMMAND``); talk that
only contains a command ("She said cancel all timers.", "I asked him what time is it?")
lost more than that in every set (docs/ACCURACY.md, thirtieth run)."""
WAKE_MAX_LOSS = 7.5
"""A phrase is heard if the transcript with it in place of the opening words loses at most
this much total log-probability against the transcript as heard. Measured: phrases said
lost up to 7.2 (and more when missed); the talk that came near lost 8.6 or more, 10.0 or
more for the default phrases."""
WAKE_MAX_LOSS_BEFORE_COMMAND = 9.5
"""... or this much when the words after the phrase are a command, or come as near one as a
command match must (``closeness``, "such a timer for five minutes"): a command after it makes
the phrase likelier said. Measured: flite's phrases lost 7.6 to 9.1 before a command in noise
("They consider what time is it?"); the nearest reading of eval/no_wake.yaml, commands said
without the phrase, 10.9 (docs/ACCURACY.md, seventh run)."""
OPENING_MIN = 60.0
"""A phrase whose slot takes any words ("remind me to {text} in {duration}") is offered with
its opening words put in place of the first words heard when those come this close to them
(rapidfuzz ratio; ``repairs``): "3 mind me to" is 83 from "remind me to", "combined new
to" 67."""
REPAIRS = 2
"""At most this many such phrases are scored for one utterance."""
AT_WRITTEN = frozenset({"id"})
"""Words tiny.en writes for "at" said before a time ("remind me I'd quarter past 9 to call
the plumber", eval/times_second.yaml), which ``repairs`` puts "at" in place of as it does
a function word (``_linked``)."""
TO_WRITTEN = frozenset({"till"})
"""... and for "to" said after one, before a reminder's words ("remind me tomorrow at 11
till book a table")."""
WRITTEN_FOR = {"at": AT_WRITTEN, "to": TO_WRITTEN}
PLAIN_WEIGHT = 0.2
"""Free text is taken from the beam's reading (``Transcript.alternatives``) that gives the
same command with the same other slots and scores best on its mean token log-probability
plus this much times ``plainness`` of its free text (``plainer``): "repeat after me the rain
in Spain" 0.05 below "... Lorraine in Spain" wins, since Whisper spells "Lorraine" in two
pieces. Measured offline on the espeak-ng set's free-text commands: 17 of 38 right as the
beam's best, 22 at 0.2, 23 at 0.5 (docs/ACCURACY.md, tenth run)."""
KNOWN_GAP = 0.9
"""How much less the audio may support a free-text slot filled with a value the plugin
knows ("cancel this pasta timer") than the words heard ("cancel this faster timer") for it
to run with that value (``known_fills``). In ``eval/phrasings.yaml`` (a pasta timer
running) the misheard pasta timers came 0.07 to 0.58 under the words heard, and the egg
and pizza timers, said as such, 1.32 or more: midway."""
KNOWN_PHRASINGS = 3
"""Phrasings of a template asked about for each known value, those nearest the words heard
(in spelling, and ``SOUND_WEIGHT`` in sound: "cancel net pasta timer" is "cancel the",
"cancel that" and "cancel pasta timer")."""

Known = Mapping[tuple[str, str], Mapping[str, Sequence[str]]]
"""(plugin, command) -> its known slot values (``Dispatcher.known``), for those with any."""

KEPT_WORDS = frozenset({"yesterday", "tomorrow"})
"""Words naming another day than the one a command asks about: a phrase that leaves out one
the speaker was heard to say is no candidate. "what day was it yesterday", heard right in a
voice no limit was chosen on, came 0.65 below "what day is it today" (eval/held_out.yaml);
tiny.en wrote neither word for any command of the espeak-ng and flite manifests. ("not" was
considered and left out: tiny.en writes "what is not it?" for "what is the date".)"""
IT_LIKENESS = 60.0
"""A phrase whose "it" (with other function words, "is it") takes the place of other words
heard is run only if those words are spelt this near it (rapidfuzz ratio of the letters;
``named``): "what time visit" is "what time is it" misheard (89), "what time is the train"
asks about a train (20). Measured on the 713 clips of ten sets with a rescue or a false
command: 32 requests put "it" for words spelt 12 to 50 near ("sunset", "the party", "its on
set"), and "what time visit" is the one right rescue of the kind (docs/ACCURACY.md,
twenty-first run)."""
DETERMINERS = ARTICLES | {"my", "your", "this", "that"}
"""Words too slight to stand for a word that filled a slot (``swaps``)."""
EXACT_START_MIN = 2
"""The fewest words a whole phrase heard at the start must have for the words after it to
be kept from a rescue (``exact_start``, ``replaces_past``): a phrase of one word ("time")
says little of where a command's words stop. Measured on every shipped set: twelve requests
("how much time is left on the oven", "... on development") were run as "how much time is
left on the timer", 0.57 to 1.16 below the words; of the rescues the sets count as right,
two kept a whole phrase heard and changed words after it: a last word split ("what day is it
to me") and free text ("cancel the reminder to call the nocter"), both still taken
(docs/ACCURACY.md, thirty-fifth run)."""
QUESTION_WORDS = frozenset(
    {"what", "whats", "which", "how", "when", "where", "who", "can", "could", "do", "is", "are"}
)


@dataclass(frozen=True)
class Candidate:
    match: Match
    """The command, with its slots filled, that runs if the audio supports ``text``."""
    text: str
    """The phrase as said ("what day is it today"); ``sentence`` makes it the text scored."""

    @classmethod
    def of(cls, cmd: Command, t: CompiledTemplate, said: str, slots: dict[str, Any]) -> Candidate:
        """``cmd`` run by its template ``t`` with ``slots``, if the audio supports ``said``."""
        return cls(Match(cmd, slots, t.source, 0.0, (0, 0)), said)


def _template(m: Match) -> CompiledTemplate | None:
    """The compiled template a match was made from (``Match.template`` is its source)."""
    return next((t for t in m.command.templates if t.source == m.template), None)


def _command(c: Candidate) -> tuple[str, str]:
    """(plugin, command) of a candidate: phrasings of one command share it."""
    return (c.match.command.plugin, c.match.command.name)


def _action(c: Candidate) -> tuple[tuple[str, str], tuple[tuple[str, Any], ...]]:
    """What a candidate would do: its command and slots. Phrasings of one action do not
    compete; two numbers offered for a slot nobody heard a number in do."""
    return _command(c), tuple(sorted(c.match.slots.items()))


def heard_numbers(heard: Sequence[str]) -> list[int]:
    """The numbers in the heard words, in order: "5", "twenty five" (at most three)."""
    found: list[int] = []
    run: list[str] = []
    for w in [*heard, ""]:
        if (w in NUMBER_WORDS and w not in ("a", "an", "and")) or (run and w == "and"):
            run.append(w)
            continue
        if run:
            n = parse_int(run)
            if n is not None and n not in found:
                found.append(n)
            run = []
        if w.isdigit() and int(w) not in found:
            found.append(int(w))
    return found[:3]


def _numeric_fills(
    t: CompiledTemplate, plain: str, numbers: Sequence[int]
) -> Iterator[tuple[float, str, dict[str, Any]]]:
    """(similarity, said, slots) for each variant of a template whose one slot is a number,
    filled with each heard number; when none was heard, with the ``UNHEARD_FILLS`` numbers
    whose words bring the phrase closest to the heard words (``plain``, without articles).
    Durations are left out: "10 minutes" would be one command's duration and another's
    minutes, two candidates too close to call."""
    if t.is_regex or list(t.slots.values()) != ["int"]:
        return
    (name,) = t.slots
    slot = f"{{{name}}}"
    for v in t.variants:
        if numbers:
            for n in numbers:
                said = v.spoken.replace(slot, str(n))
                yield fuzz.ratio(plain, bare(said.split())), said, {name: n}
            continue
        near = sorted(
            (
                (fuzz.ratio(plain, bare(v.spoken.replace(slot, say_int(n)).split())), n)
                for n in UNHEARD_NUMBERS
            ),
            key=lambda x: -x[0],
        )
        for score, n in near[:UNHEARD_FILLS]:
            yield score, v.spoken.replace(slot, str(n)), {name: n}


def _known_fills(
    t: CompiledTemplate, heard: Sequence[str], values: Mapping[str, Sequence[str]]
) -> Iterator[tuple[float, str, dict[str, Any]]]:
    """(similarity to the heard words, said, slots) for each variant of a template whose
    one slot takes free text the plugin knows the values of now, filled with each value
    ("cancel that {name} timer" -> "cancel that pasta timer"); ``KNOWN_PHRASINGS`` of a
    value, nearest the heard words (as said, determiners and all) first."""
    if t.is_regex or len(t.slots) != 1:
        return
    (name,) = t.slots
    if t.slots[name] != "str" or not values.get(name):
        return
    slot, plain, heard_sound = f"{{{name}}}", " ".join(heard), " ".join(sounds(list(heard)))

    def near(said: str) -> float:
        sound = fuzz.ratio(heard_sound, " ".join(sounds(said.split())))
        return (1 - SOUND_WEIGHT) * fuzz.ratio(plain, said) + SOUND_WEIGHT * sound

    for value in values[name]:
        filled = sorted(
            ((near(said), said) for said in {v.spoken.replace(slot, value) for v in t.variants}),
            key=lambda x: (-x[0], x[1]),
        )
        for score, said in filled[:KNOWN_PHRASINGS]:
            yield score, said, {name: value}


def is_known(value: Any, values: Sequence[str]) -> bool:
    """Is a slot's value one of the values the plugin knows (``Dispatcher.known``, as
    words: "Pasta" is "pasta")?"""
    return " ".join(words(str(value))) in values


def known_fills(
    match: Match, heard: Sequence[str], values: Mapping[str, Sequence[str]]
) -> list[Candidate]:
    """The matched template with its free-text slot filled with each value the plugin
    knows for it (``values``: its command's, ``Dispatcher.known``; "cancel this faster
    timer" with a pasta timer running: "cancel this pasta timer"), when the words heard
    gave it none of them; at most ``CANDIDATES``, nearest the words first. The audio
    settles it (``KNOWN_GAP``)."""
    t = _template(match)
    if t is None or len(t.slots) != 1:
        return []
    (name,) = t.slots
    got = match.slots.get(name)
    if not isinstance(got, str) or is_known(got, values.get(name, ())):
        return []
    fills = sorted(_known_fills(t, heard, values), key=lambda x: -x[0])
    return [Candidate.of(match.command, t, said, slots) for _, said, slots in fills[:CANDIDATES]]


def _number_slot(c: Candidate) -> str | None:
    """The name of a candidate's one slot if it is a number, else None."""
    t = _template(c.match)
    if t is None or t.is_regex or list(t.slots.values()) != ["int"]:
        return None
    return next(iter(t.slots))


def number_prefix(found: Sequence[Candidate], heard: Sequence[str]) -> str | None:
    """Where no number was heard and a phrase with a number slot is among the candidates
    ``found`` for the words (``candidates``; its number one of those nearest the words,
    ``UNHEARD_FILLS``), the nearest such phrase's words before the number ("set up a minute
    timer": "set a"), to ask the audio which number comes next (``named_number``); None
    otherwise."""
    if heard_numbers(heard):
        return None
    for c in found:
        name = _number_slot(c)
        said = c.text.split()
        if name is not None and str(c.match.slots.get(name)) in said:
            return " ".join(said[: said.index(str(c.match.slots[name]))])
    return None


def named_number(logprobs: Mapping[Said, float]) -> Said | None:
    """The number the audio names (``Transcriber.number_logprobs``): the likeliest, if it
    is at least ``NUMBER_MIN_LOGPROB`` likely and ``NUMBER_MARGIN`` likelier than any
    other; None where the audio does not tell."""
    ranked = sorted(logprobs.items(), key=lambda x: -x[1])
    if not ranked or ranked[0][1] < NUMBER_MIN_LOGPROB:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < NUMBER_MARGIN:
        return None
    return ranked[0][0]


def no_number(logprobs: Mapping[Said, float]) -> bool:
    """Does the audio make no number likely where one was asked about (every one below
    ``NUMBER_MIN_LOGPROB``)? Asked after "remind me at" (or "remind me tomorrow at", ...)
    where a place or a meal was said ("remind me at home to take the bins out", "... at
    lunch ..."; seven such reminders in eight voices, clean and at 10 dB), the likeliest
    hour came below -4.0 in 109 of 112 clips; the other 3 (flite at 10 dB, "at home") named
    1. Where an hour was said (576 clips), it came below -4.0 in 15 (docs/ACCURACY.md,
    thirty-seventh run). False where nothing was asked."""
    return bool(logprobs) and max(logprobs.values()) < NUMBER_MIN_LOGPROB


def _phrasings(
    t: CompiledTemplate,
    heard: Sequence[str],
    plain: str,
    numbers: Sequence[int],
    values: Mapping[str, Sequence[str]],
) -> Iterator[tuple[float, str, dict[str, Any]]]:
    """(similarity to the heard words, phrase as said, slots) for each phrasing of a
    template; ``plain`` is the heard words without articles (``matching.bare``), ``values``
    the known values of its command's free-text slots (``_known_fills``)."""
    yield from ((score, text, {}) for score, text in loose_variants(t, heard))
    yield from _numeric_fills(t, plain, numbers)
    if values:
        for _, said, slots in _known_fills(t, heard, values):
            yield fuzz.ratio(plain, bare(said.split())), said, slots


def sentence(phrase: str) -> str:
    """A command phrase as it is said: a question gets a question mark."""
    first = phrase.split(maxsplit=1)[0] if phrase.strip() else ""
    return phrase + ("?" if first in QUESTION_WORDS else ".")


def _all_phrasings(
    registry: Registry,
    heard: Sequence[str],
    known: Known | None = None,
    number: int | None = None,
) -> Iterator[tuple[float, str, Command, CompiledTemplate, dict[str, Any]]]:
    """``_phrasings`` of every template of every command, with the command and template;
    a number slot filled with the numbers heard, or else with ``number`` if given."""
    numbers = heard_numbers(heard) or ([] if number is None else [number])
    plain = bare(heard)
    for cmd in registry.commands:
        values = (known or {}).get((cmd.plugin, cmd.name), {})
        for t in cmd.templates:
            for score, said, slots in _phrasings(t, heard, plain, numbers, values):
                yield score, said, cmd, t, slots


def candidates(
    registry: Registry,
    heard: Sequence[str],
    k: int = CANDIDATES,
    known: Known | None = None,
    number: int | None = None,
) -> list[Candidate]:
    """The ``k`` command phrases closest to the heard words (in spelling, and
    ``SOUND_WEIGHT`` in sound), best first, at most
    ``PER_COMMAND`` of one command: every phrasing of a slot-less command, of a template
    whose one slot is a number, filled with each number heard (or, where none was, the
    ``number`` the audio names, ``named_number``), and of one whose one slot is free text
    the plugin knows the values of (``known``), filled with each. None leaves out a word of
    ``KEPT_WORDS`` that was heard."""
    kept = KEPT_WORDS.intersection(heard)
    heard_sound = " ".join(sounds(bare(heard).split()))
    found: dict[str, tuple[float, Candidate]] = {}
    for spelt, said, cmd, t, slots in _all_phrasings(registry, heard, known, number):
        if kept and not kept <= set(words(said)):
            continue
        sound = fuzz.ratio(heard_sound, " ".join(sounds(bare(words(said)).split())))
        score = (1 - SOUND_WEIGHT) * spelt + SOUND_WEIGHT * sound
        if said not in found or score > found[said][0]:
            found[said] = (score, Candidate.of(cmd, t, said, slots))
    ranked = sorted(found.values(), key=lambda item: -item[0])
    out: list[Candidate] = []
    per: dict[tuple[str, str], int] = {}
    for _, c in ranked:
        key = _command(c)
        if per.get(key, 0) < PER_COMMAND:
            per[key] = per.get(key, 0) + 1
            out.append(c)
            if len(out) == k:
                break
    return out


def _longest(
    t: CompiledTemplate, ws: Sequence[str], cut: bool
) -> tuple[list[str], dict[str, Any]] | None:
    """The words, or (if ``cut``) the longest run of them from the start not ending in a
    function word or in the minutes before "past", that match the template exactly; with
    the slots they fill."""
    for end in range(len(ws), 0, -1) if cut else [len(ws)]:
        if end < len(ws) and ws[end - 1] in FUNCTION_WORDS:
            continue
        if end < len(ws) and ws[end] == "past" and ws[end - 1].isdigit():
            continue  # "at 20 | past grade": 20 is the minutes of a time misheard
        m = match_template(t, ws[:end], fuzzy=False)
        if m is not None:
            return list(ws[:end]), m.slots
    return None


def repairs(
    registry: Registry, heard: Sequence[str], k: int = REPAIRS, known: Known | None = None
) -> list[Candidate]:
    """Phrases of commands whose slot takes any words, which ``candidates`` cannot offer
    (the words cannot be guessed, only kept as heard), made from the heard words in three ways:

    - words after the phrase are left off when its last slot is not free text ("remind me to
      call the doctor in 20 minutes | more than 300 years", the television going on);
    - opening words of two or more ("repeat after me", "remind me to") are put in place of
      the first words heard that come ``OPENING_MIN`` near them ("3 mind me to call the
      doctor in 20 minutes", "to repeat after me the rain in spain"). One-word openings
      ("say {text}") are not tried: they would make a command of any sentence;
    - the word said before a slot that is no free text is put in where it was not heard
      (``_linked``: "remind me to lock the door and 11 pm" -> "... at 11 pm").

    A slot whose values the plugin knows (``command(known=...)``) is mended only into one
    of them (``known``): "cancel my dentist appointment" is no "cancel my reminder to
    appointment", with or without reminders set.

    The audio is asked about them as about any candidate. At most ``k``, nearest first."""
    best: dict[str, tuple[float, Candidate]] = {}

    def add(
        score: float, cmd: Command, t: CompiledTemplate, found: tuple[list[str], dict[str, Any]]
    ) -> None:
        ws, slots = found
        said = " ".join(ws)
        values = (known or {}).get((cmd.plugin, cmd.name), {})
        for slot, _ in cmd.known:
            if slot in slots and not is_known(slots[slot], values.get(slot, ())):
                return
        if ws != list(heard) and (said not in best or score > best[said][0]):
            best[said] = (score, Candidate.of(cmd, t, said, slots))

    for cmd in registry.commands:
        for t in cmd.templates:
            if t.is_regex or "str" not in t.slots.values():
                continue
            # no cut if any way of saying it ends in free text ("notify me [that] {text}")
            cut = not any(
                t.slots.get(v.spoken.split()[-1].strip("{}")) == "str" for v in t.variants
            )
            found = _longest(t, heard, cut)
            if found is not None:
                add(100.0, cmd, t, found)
                continue
            for v in t.variants:
                opening = v.spoken.split("{", 1)[0].split()
                if len([w for w in opening if w not in ARTICLES]) < 2:
                    continue
                said = " ".join(opening)
                near = [
                    (fuzz.ratio(" ".join(heard[:j]), said), j)
                    for j in range(1, min(len(opening) + 3, len(heard)))
                ]
                score, j = max(near, default=(0.0, 0))
                found = _longest(t, [*opening, *heard[j:]], cut) if score >= OPENING_MIN else None
                if found is not None:
                    add(score, cmd, t, found)
            for ws in _linked(t, heard):  # the first that makes the phrase: the longest slot
                m = match_template(t, ws, fuzzy=False)
                if m is not None:
                    add(fuzz.ratio(" ".join(ws), " ".join(heard)), cmd, t, (ws, m.slots))
                    break
    ranked = sorted(best.values(), key=lambda item: -item[0])
    return [c for _, c in ranked[:k]]


def _linked(t: CompiledTemplate, heard: Sequence[str]) -> Iterator[list[str]]:
    """The heard words with the word a template says before a slot that is no free text
    ("at" before "{when}", "in" before "{duration}") put in place of a function word or
    before a word, from the first word on: "remind me to lock the door and 11 pm" -> "...
    the door at 11 pm", "... call my mitt quarter to eight" -> "... my mitt at quarter to
    eight"; "at" in place of a word of ``AT_WRITTEN`` too ("remind me I'd quarter past 9").
    Then the word said between such a slot and free text ("to" in "at {when} to {text}"),
    put in before a word that is neither a function word nor a number ("remind me at half
    past 8 water the roses" -> "... 8 to water the roses"), or in place of a word of
    ``TO_WRITTEN`` ("... at 11 till book a table"); never in place of a function word or
    before one: "remind me at 10 the 9th to leave" ("ten to nine") would be a reminder at 10
    to "the 9th to leave"."""
    kinds = t.slots
    links: set[str] = set()
    onward: set[str] = set()
    for v in t.variants:
        said = v.spoken.split()
        for w, nxt in itertools.pairwise(said):
            if w[:1] != "{" and nxt[:1] == "{" and kinds[nxt[1:-1]] != "str":
                links.add(w)
        for before, w, nxt in zip(said, said[1:], said[2:], strict=False):
            slots = before[:1] == nxt[:1] == "{" and w[:1] != "{"
            if slots and kinds[before[1:-1]] != "str" and kinds[nxt[1:-1]] == "str":
                onward.add(w)
    for i in range(1, len(heard)):
        for link in sorted(links):
            written = heard[i] in FUNCTION_WORDS or heard[i] in WRITTEN_FOR.get(link, ())
            if written and heard[i] != link:
                yield [*heard[:i], link, *heard[i + 1 :]]
            if heard[i - 1] != link:
                yield [*heard[:i], link, *heard[i:]]
    for i in range(1, len(heard)):
        word = heard[i]
        content = word not in FUNCTION_WORDS and word not in NUMBER_WORDS and not word.isdigit()
        for link in sorted(onward):
            if word in WRITTEN_FOR.get(link, ()):
                yield [*heard[:i], link, *heard[i + 1 :]]
            elif content and heard[i - 1] != link:
                yield [*heard[:i], link, *heard[i:]]


def closeness(registry: Registry, heard: Sequence[str]) -> float:
    """How near the heard words come to any command phrase as a whole (0-100): the
    similarity ``candidates`` ranks by. "such a timer for five minutes" is 80 from "set a
    timer for 5 minutes"; talk after a near miss of a wake phrase comes 67 or less."""
    return max((score for score, *_ in _all_phrasings(registry, heard)), default=0.0)


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def swaps(registry: Registry, heard: Sequence[str], match: Match) -> list[Candidate]:
    """Phrases of other commands, without slots, that are the heard words with the one
    word a slot took replaced ("cancel out timers", which ran ``cancel_timer`` with the name
    "out" -> "cancel all timers"). The words cannot tell the two apart; the audio may.
    Plurals are not a difference; a phrase longer or shorter than the words is not a swap,
    so "cancel the tea timer" is never "cancel the timer", and neither is a determiner in
    the word's place ("cancel tea timer" is not "cancel the timer")."""
    taken = [w for v in match.slots.values() if isinstance(v, str) for w in words(v)]
    if len(taken) != 1:
        return []
    return _one_word_apart(
        registry,
        heard,
        match,
        lambda mine, theirs: mine == taken[0] and theirs not in DETERMINERS,
    )


def _one_word_apart(
    registry: Registry, heard: Sequence[str], match: Match, differs: Callable[[str, str], bool]
) -> list[Candidate]:
    """Phrases of commands other than ``match``'s, without slots, as long as the heard words
    and apart from them in one word (plurals are not a difference) for which ``differs``
    (the heard word, the phrase's) holds."""
    stems = [_stem(w) for w in heard]
    found: dict[str, Candidate] = {}
    for cmd in registry.commands:
        if cmd is match.command:
            continue
        for t in cmd.templates:
            for _, said in loose_variants(t, heard):
                theirs = said.split()
                other = [_stem(w) for w in theirs]
                if len(other) != len(stems):
                    continue
                diff = [i for i, (a, b) in enumerate(zip(stems, other, strict=True)) if a != b]
                if len(diff) == 1 and differs(heard[diff[0]], theirs[diff[0]]):
                    found.setdefault(said, Candidate.of(cmd, t, said, {}))
    return list(found.values())


def _lost_end(heard: str, other: str) -> bool:
    """``other`` sounds like ``heard`` with more at its end: it is spelt with the same first
    two letters, and its Metaphone key is a longer one that starts with the heard word's
    ("day" T, "date" TT; not "time" TM, whose key only agrees because Metaphone hears a d
    as a t)."""
    mine, theirs = jellyfish.metaphone(heard), jellyfish.metaphone(other)
    return (
        other[:2] == heard[:2]
        and bool(mine)
        and len(theirs) > len(mine)
        and theirs.startswith(mine)
    )


def lost_ends(registry: Registry, heard: Sequence[str], match: Match) -> list[Candidate]:
    """Phrases of other commands, without slots, that are the heard words, matched with no
    slot, with one word said with more at its end: tiny.en drops a short word's last
    consonant, "what is the date" heard as "what is the day", a phrase of the day of the
    week (``_lost_end``). The words cannot tell the two apart; the audio may. Only this
    way round: tiny.en did not write "date" where "day" was said."""
    if match.slots:
        return []
    return _one_word_apart(registry, heard, match, _lost_end)


def names_unknown(match: Match, values: Mapping[str, Sequence[str]]) -> bool:
    """Does a slot whose values the plugin knows (``command(known=...)``; ``values``, its
    command's, ``Dispatcher.known``) hold none of them ("cancel out timers": a timer named
    "out", with none of that name running)? A slot the plugin named no values for (none
    running, or its ``known`` function failed) holds none."""
    return any(
        name in match.slots and not is_known(match.slots[name], values.get(name, ()))
        for name, _ in match.command.known
    )


def to_settle(
    registry: Registry,
    heard: Sequence[str],
    match: Match,
    values: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[Candidate], float]:
    """The phrases the audio must settle before ``match`` runs, and how much less it may
    support one of them for that one to run instead: ``swaps`` (``SWAP_GAP``) for a match
    with slots, ``lost_ends`` (``LOST_END_GAP``) for one without. Given the ``values`` the
    plugin knows for the match's slots, a swap away from a value it does not know
    (``names_unknown``) may come ``KNOWN_GAP`` below, as a value it knows may in its place
    (``known_fills``): the words heard name nothing the plugin can act on."""
    if match.slots:
        unknown = values is not None and names_unknown(match, values)
        return swaps(registry, heard, match), KNOWN_GAP if unknown else SWAP_GAP
    return lost_ends(registry, heard, match), LOST_END_GAP


def ends_apart(one: str, other: str) -> bool:
    """Are the two phrases the same but for one word, said with more at its end in one of
    them (``_lost_end``: "what day is it today", "what date is it today")? A plural is not
    that ("reminder", "reminders")."""
    a, b = words(one), words(other)
    if len(a) != len(b):
        return False
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    if len(diff) != 1:
        return False
    x, y = diff[0]
    return _stem(x) != _stem(y) and (_lost_end(x, y) or _lost_end(y, x))


def margin(best: Candidate, other: Candidate) -> float:
    """How far the best candidate must come above ``other`` for ``other`` not to count as
    close: ``LOST_END_MARGIN`` where ``other`` would do something else and the two phrases
    are a word's end apart (``ends_apart``), ``MIN_MARGIN`` otherwise."""
    if _action(other) != _action(best) and ends_apart(best.text, other.text):
        return LOST_END_MARGIN
    return MIN_MARGIN


def covers(phrase: str, heard: Sequence[str]) -> bool:
    """Every heard word is in the phrase, in order: "what day is today" is in "what day is
    it today", not in "what is today"."""
    rest = iter(words(phrase))
    return all(w in rest for w in heard)


def named(heard: Sequence[str], said: Sequence[str]) -> bool:
    """Does the phrase ``said`` put "it" where the words heard named something that does
    not sound like it ("what time is sunset", "what day is the party" for "what time is
    it", "what day is it")? Where the phrase's "it", alone or with function words, stands
    for heard words spelt less than ``IT_LIKENESS`` near."""
    ops = difflib.SequenceMatcher(a=heard, b=said, autojunk=False).get_opcodes()
    return any(
        op == "replace"
        and "it" in said[j1:j2]
        and all(w in FUNCTION_WORDS for w in said[j1:j2])
        and fuzz.ratio("".join(heard[i1:i2]), "".join(said[j1:j2])) < IT_LIKENESS
        for op, i1, i2, j1, j2 in ops
    )


def drops_a_name(registry: Registry, heard: Sequence[str], said: Sequence[str]) -> bool:
    """Does the phrase ``said`` leave out heard words that another phrase would take as a
    name ("console the end timer": "cancel the timer" leaves out "end", which "cancel the
    {name} timer" takes)? The heard words, with the words the phrase puts in place of
    others as it says them and the words it leaves out kept ("cancel the end timer"), match
    a template exactly with a free-text slot holding just the words left out."""
    mended: list[str] = []
    left: list[list[str]] = []
    ops = difflib.SequenceMatcher(a=heard, b=said, autojunk=False).get_opcodes()
    for op, i1, i2, j1, j2 in ops:
        if op == "delete":
            mended += heard[i1:i2]
            left.append(list(heard[i1:i2]))
        else:
            mended += said[j1:j2]
    if len(left) != 1:
        return False
    return any(
        kind == "str" and words(str(m.slots.get(name, ""))) == left[0]
        for t, m in _exact(registry, mended)
        for name, kind in t.slots.items()
    )


def _exact(
    registry: Registry, ws: Sequence[str]
) -> Iterator[tuple[CompiledTemplate, TemplateMatch]]:
    """Each template (not a pattern) that the words match exactly, with its match."""
    for cmd in registry.commands:
        for t in cmd.templates:
            m = None if t.is_regex else match_template(t, ws, fuzzy=False)
            if m is not None:
                yield t, m


def exact_start(registry: Registry, heard: Sequence[str]) -> int:
    """How many of the heard words, from the first, are the whole of a phrase with no
    free-text slot: the longest such run short of all of them, of at least
    ``EXACT_START_MIN`` words, or 0 ("how much time is left on the oven": 5, "how much time
    is left"). A free-text slot takes any words, so its phrase says nothing of where the
    words heard stop being the command's."""
    for k in range(len(heard) - 1, EXACT_START_MIN - 1, -1):
        if any("str" not in t.slots.values() for t, _ in _exact(registry, heard[:k])):
            return k
    return 0


def replaces_past(heard: Sequence[str], said: Sequence[str], start: int) -> bool:
    """Does the phrase ``said`` keep the first ``start`` words heard, a whole phrase
    (``exact_start``), and put other words in place of words heard after them, as many or
    more for each ("how much time is left on the oven" -> "... on the timer")? Words heard
    going on past a whole phrase are a request's, as for a phrase that leaves them off
    (``agent.leftoff``); put in the place of a command's they fit the audio only by luck. A
    last word heard as more words ("what day is it to me" -> "today") is not refused: that
    is the phrase's own word, split. ``choose`` asks this only of a phrase with no
    free-text slot: the words past "cancel the reminder" in "cancel the reminder to call
    the nocter" are that slot's, mended into a reminder set ("... the doctor")."""
    if start == 0 or list(said[:start]) != list(heard[:start]):
        return False
    ops = difflib.SequenceMatcher(a=heard[start:], b=said[start:], autojunk=False).get_opcodes()
    return any(op == "replace" and i2 - i1 <= j2 - j1 for op, i1, i2, j1, j2 in ops)


def tokens(ws: Sequence[str], pieces: Callable[[str], int]) -> int:
    """How many of Whisper's tokens the words take, given ``pieces`` (each word's tokens
    beyond one, ``Transcriber.pieces``)."""
    return sum(1 + pieces(w) for w in ws)


def choose(
    own: float,
    scored: Sequence[tuple[float, Candidate]],
    heard: Sequence[str],
    pieces: Callable[[str], int] | None = None,
    registry: Registry | None = None,
) -> Candidate | None:
    """The candidate the audio supports, or None. ``own`` is the model's own transcript's
    score; ``scored`` pairs each candidate with its score; ``heard`` is the command part of
    the transcript; ``pieces`` counts a word's extra tokens (without it, a phrase's tokens
    are not compared, and ``LONGER_GAP`` is not applied). ``MIN_MARGIN`` is kept against
    any candidate that would do something else: another command, or the same with other
    slots (``LOST_END_MARGIN`` against one a word's end apart: "what date is it today"
    against "what day is it today"). Where the audio cannot tell such candidates apart,
    the words may: if those of one action alone hold every heard word (``covers``), that
    action is taken ("what day is today": the day of the week, not the date of "what is
    today"). None is taken whose "it" stands for a thing the words heard name (``named``:
    "what time is the train"), nor, given the ``registry``, one shorter than the words
    that leaves out what another phrase takes as a name (``drops_a_name``: "console the
    end timer" is not "cancel the timer"), nor one with no free-text slot that keeps a
    whole phrase heard at the start and changes the words after it (``replaces_past``:
    "how much time is left on the oven" is not "... on the timer").
    When one action is left, each of its close phrasings is tried, best first, against its
    own limit.
    """
    if not scored:
        return None
    ranked = sorted(scored, key=lambda item: -item[0])
    close = [(s, c) for s, c in ranked if ranked[0][0] - s < margin(ranked[0][1], c)]
    if len({_action(c) for _, c in close}) > 1:
        close = [(s, c) for s, c in close if covers(c.text, heard)]
        if len({_action(c) for _, c in close}) != 1:
            return None
    # one action is left; any of its phrasings the audio supports within that phrasing's
    # own limit settles it ("cancel all the timers" may fail LONGER_GAP where "cancel all
    # the timer", scored a little lower, is within FIXED_GAP)
    start = exact_start(registry, heard) if registry is not None else 0
    for score, best in close:
        said = words(best.text)
        if named(heard, said):
            return None
        if not text_slots(best.match) and replaces_past(heard, said, start):
            continue  # as the phrase heard, leaving the words after it off, it may still run
        if len(said) < len(heard):
            if registry is not None and drops_a_name(registry, heard, said):
                return None
            gap = SHORTER_GAP
        elif pieces is not None and tokens(said, pieces) > tokens(heard, pieces):
            gap = LONGER_GAP
        else:
            gap = MAX_GAP if best.match.slots else FIXED_GAP
        if score >= MIN_LOGPROB and own - score <= gap:
            return best
    return None


def text_slots(m: Match) -> list[str]:
    """The slots of a match that took any words (``{text}``)."""
    t = _template(m)
    return [] if t is None else [n for n, kind in t.slots.items() if kind == "str"]


def plainness(m: Match, pieces: Callable[[str], int]) -> float:
    """Minus the mean number of extra tokens the words of the free-text slots take
    (``Transcriber.pieces``): 0 when Whisper's vocabulary holds every word whole, as it
    holds common words; lower for rarer words."""
    ws = [w for n in text_slots(m) for w in str(m.slots.get(n, "")).split()]
    return -sum(pieces(w) for w in ws) / len(ws) if ws else 0.0


def plainer(
    best: tuple[float, Match], others: Sequence[tuple[float, Match]], pieces: Callable[[str], int]
) -> Match:
    """The match whose free text to take: among the beam's readings (score, match) that
    give ``best``'s command with the same other slots, the one with the highest score plus
    ``PLAIN_WEIGHT`` times ``plainness``. A reading of another command never competes, so
    this can only change what a free-text slot holds."""
    _, top = best
    free = set(text_slots(top))

    def fixed(m: Match) -> tuple[Any, ...]:
        return (
            m.command.plugin,
            m.command.name,
            sorted((k, repr(v)) for k, v in m.slots.items() if k not in free),
        )

    same = [(s, m) for s, m in others if fixed(m) == fixed(top)]
    return max([best, *same], key=lambda it: it[0] + PLAIN_WEIGHT * plainness(it[1], pieces))[1]


def split_words(raw: str, span: int) -> tuple[str, str] | None:
    """The raw transcript cut after its first ``span`` words ("A computer, cancel all
    time in." at 2 -> "A computer,", "cancel all time in."); None if a token holds words on
    both sides of the cut."""
    tokens = raw.split()
    count = 0
    for i, token in enumerate(tokens):
        if count == span:
            return " ".join(tokens[:i]), " ".join(tokens[i:])
        count += len(words(token))
        if count > span:
            return None
    return (raw.strip(), "") if count == span else None


def with_phrase(raw: str, phrase: str, span: int) -> str | None:
    """The transcript with its first ``span`` words replaced by the wake phrase ("Okay, now
    move. What time is it?" at 3 -> "Okay nabu, What time is it?"; at 0 the phrase goes in
    front: "Computer, What is the date?"); None if the words do not split there."""
    cut = split_words(raw, span)
    if cut is None:
        return None
    return f"{phrase.capitalize()}, {cut[1]}" if cut[1] else f"{phrase.capitalize()}."
