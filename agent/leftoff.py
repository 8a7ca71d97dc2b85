"""Requests that say more than a command's phrase: words heard going on past the phrase a
rescue chose (``agent.rescore``).

tiny.en hears "what time is it in London?" right, and rescoring would still find "what time
is it" in it: the phrase holds every word up to the last it shares with them. A request
that goes on past a phrase is not that command. Where the words go on (``words_past``) and
what is asked of them (``leaves_off``) is decided from the words: a name Whisper wrote in
the same sentence refuses the phrase (``names_left_off``); otherwise the audio is asked
whether it breaks before the words left off (``break_readings``, ``BREAK_COST``), as a
television talking on after a command does and a request does not. Pure functions of the
words; the agent asks the audio (``Recognizer._may_leave_off``).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from agent.rescore import sentence, split_words
from agent.text import words

BREAK_COST = 4.0
"""A phrase that leaves off the words heard after its last word (``words_past``) is run only
if the audio makes a break before those words at most this much less likely (total
log-probability) than none (``break_readings``): a television talking on after a command is
another sentence, a request that goes on is not. Measured on the 713 clips of ten sets with
a rescue or a false command, 96 of them rescues that left words off: the 60 requests ("what
time is it | in london", "how much time is left | in the match") -9.3 to -2.9; the 36
commands with a television's words after them -6.1 to +11.6, 32 of them above -3.0 ("what
time is it | are you coming to the park" +5.3, "remind me to call the doctor in 20 minutes |
more than 300 years" -0.5, "what time is it | saying at home" -5.6; docs/ACCURACY.md,
twenty-first run)."""
PAST_WORDS = 2
"""Words heard past a phrase whose last words were heard as more words (``words_past``) are
asked about as words left off are (``BREAK_COST``) where they are at least this many: a last
word Whisper split in two leaves one ("cancel all time in" for "cancel all timer", "what day
is it to me" for "... today"), a request that goes on more ("what is the date on the
latter" for "what is the day"; docs/ACCURACY.md, twenty-third run). Not where Whisper ended
a sentence after the last word heard that the phrase holds (``ends_sentence``): "What time
is it? So if we leave my date ..." is "what time is it now" with a television after it."""
SENTENCE_ENDS = frozenset(".?!")
"""Marks after which Whisper begins a new sentence (``names_left_off``)."""
SELF = frozenset({"i", "im", "ive", "ill", "id"})
""""I", which Whisper writes with a capital, as the words ``names_left_off`` finds it in."""
NAME_WITHIN = 3
"""How many of the words left off after a phrase ``names_left_off`` looks at: the words a
request names its place or day in ("in London", "until Christmas", "at the North Pole").
A television's words further on are left to the break (``BREAK_COST``): "cancel all timers,
land in the car I am Esque" was a command over a television, rescued right, and run
(eval/held_out.yaml; docs/ACCURACY.md, twenty-second run)."""


@dataclass(frozen=True)
class Past:
    """How the words heard go on past a command's phrase (``words_past``)."""

    count: int
    """How many of the heard words the phrase stands for; those after it go on past it."""
    last_heard: bool
    """The phrase's last word is one heard ("what time is it in london"), not heard as
    more words ("what is the data in australia" for "what is the day")."""
    shared: int
    """How many heard words go up to the last one the phrase holds ("what time is it so if
    we leave" and "what time is it now": 4)."""


def words_past(heard: Sequence[str], said: Sequence[str]) -> Past | None:
    """Where the words heard go on past the phrase ``said``, from one alignment of the two:
    past its last word, heard ("what time is it in london", "what time is it": 4), or past
    its last words heard as more words than it has, as many of those as it has standing for
    them ("what is the data in australia", "what is the day": 4; "how long is that until
    christmas", "how long is left": 4). None if nothing heard goes on past the phrase."""
    matcher = difflib.SequenceMatcher(a=heard, b=said, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    shared = blocks[-1].a + blocks[-1].size if blocks else 0
    if blocks and blocks[-1].b + blocks[-1].size == len(said):
        return Past(shared, True, shared) if shared < len(heard) else None
    last = next((op for op in reversed(matcher.get_opcodes()) if op[3] < op[4]), None)
    if last is None or last[0] != "replace":
        return None
    _, i1, i2, j1, j2 = last
    count = i1 + min(i2 - i1, j2 - j1)
    return Past(count, False, shared) if count < len(heard) else None


@dataclass(frozen=True)
class LeftOff:
    """A rescue whose phrase leaves off words heard after it (``leaves_off``)."""

    cut: int
    """How many of the heard words the phrase stands for; the rest are left off."""
    names: bool
    """The words left off name something in the same sentence (``names_left_off``): the
    request asks about it, and the phrase is not run."""
    ask: bool
    """Whether the audio is to be asked about a break before the words left off
    (``break_readings``, ``BREAK_COST``); if not, and they name nothing, the phrase runs."""


def leaves_off(raw: str, before: int, heard: Sequence[str], said: Sequence[str]) -> LeftOff | None:
    """Does the phrase ``said``, taken for the command words ``heard`` (which come after
    ``before`` words of the transcript ``raw``), leave off words heard after it, and what
    is to be asked of them? A name in them refuses it ("what time is it in London?"). The
    break is asked about where the phrase's last word was heard ("what time is it | in
    london"), or where its last words were heard as more words and ``PAST_WORDS`` or more
    go past them ("what is the date on the latter" for "what is the day") unless Whisper
    ended a sentence after the last word heard that the phrase holds (``ends_sentence``).
    None where nothing heard goes past the phrase."""
    past = words_past(heard, said)
    if past is None:
        return None
    if names_left_off(raw, before + past.count):
        return LeftOff(past.count, names=True, ask=False)
    ask = past.last_heard or (
        len(heard) - past.count >= PAST_WORDS  # "cancel all time in": one word split
        and not ends_sentence(raw, before + past.shared)
    )
    return LeftOff(past.count, names=False, ask=ask)


def ends_sentence(raw: str, span: int) -> bool:
    """Did Whisper end a sentence after the first ``span`` words of the transcript ``raw``
    ("What time is it? So if we ..." at 4)?"""
    cut = split_words(raw, span)
    return cut is not None and _ends(cut[0])


def _ends(text: str) -> bool:
    """Does ``text`` close with a mark Whisper ends a sentence with (``SENTENCE_ENDS``)?"""
    return text.rstrip()[-1:] in SENTENCE_ENDS


def break_readings(heard: Sequence[str], cut: int) -> tuple[str, tuple[str, ...]]:
    """The heard words as one sentence, and as two: broken after the first ``cut`` by a
    comma, and by a full stop or question mark ("what time is it in london?"; "what time is
    it, in london?", "What time is it? In london.")."""
    kept, rest = " ".join(heard[:cut]), " ".join(heard[cut:])
    whole = sentence(kept)
    return f"{kept} {rest}{whole[-1]}", (
        f"{kept}, {rest}{whole[-1]}",
        f"{whole} {sentence(rest).capitalize()}",
    )


def names_left_off(raw: str, span: int) -> bool:
    """Do the words the transcript ``raw`` goes on with after its first ``span`` words,
    in the same sentence, name something: a word Whisper wrote with a capital where no
    sentence begins ("what time is it in London?", "how long is left until Christmas")?
    A request that names a place, a day or a person past a command's phrase asks about it;
    words written as a sentence of their own ("five minutes. We moved to Thursday.") are
    not counted, nor is "I", nor words further on than ``NAME_WITHIN``. False where the
    transcript does not split there."""
    cut = split_words(raw, span)
    if cut is None or not cut[1] or _ends(cut[0]):
        return False
    for token in cut[1].split()[:NAME_WITHIN]:
        word = token.lstrip("\"'(")
        spelt = words(word)
        if word[:1].isupper() and spelt and spelt[0] not in SELF:
            return True
        if token.rstrip("\"')")[-1:] in SENTENCE_ENDS:
            return False
    return False
