"""Wake phrase: find it near the start of a transcript, tolerant of how Whisper spells it.

Whisper writes "hey computer" as "Hey, computer.", "Hey computer's", "Hey Computer!" or
"heycomputer". Both sides are reduced to lower-case words; the opening words are compared
to each phrase word for word by a normalised edit-distance score (rapidfuzz), the weakest
word deciding; words that must be run together or split to line up ("heycomputer") are
compared whole, at a penalty (``similarity``). The longest phrase scoring at or above the
threshold wins. When Whisper splits the end off the phrase's last word ("They compute her,
remind me ..."), that piece is not taken as the command's first word (``split_tail``).
A one-word phrase ("computer") after other words must be spelt exactly: near misses in the
middle of a sentence ("the commuter trains", "to compute") are how talk would wake it. After
"my", "the" and the like it is a noun ("my computer crashed", ``NOUN_MARKERS``): the words
alone do not wake the agent there, the audio is asked.

Whisper also writes an unusual phrase as a word it knows ("hey mycroft" as "Hey
Minecraft", "hey rhasspy" as "Hey Raspid"). With ``phonetic_threshold`` set, the opening
words are also compared by how they sound: their Metaphone keys (jellyfish) are compared
by the same edit-distance score, and a candidate passes if either score reaches its
threshold. docs/ACCURACY.md has the measured trade-off.

``WakeGate`` adds the follow-up window: the phrase alone ("hey computer" ... pause ...
"what time is it") arms it, and the next utterance that starts within ``follow_up_s`` of
the end of the wake utterance is taken as the command. Time is stream time (seconds of
audio), so the gate is pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jellyfish
from rapidfuzz.distance import Indel

from agent.text import syllables, words

if TYPE_CHECKING:
    from agent.config import WakeConfig


@dataclass(frozen=True)
class WakeMatch:
    phrase: str
    """The configured phrase that matched."""
    score: float
    """Similarity 0-100."""
    command: list[str]
    """The words after the phrase."""


SPLIT_EXTRA = 2
"""A word after the phrase that ends it ("compute her" for "computer") has at most this
many letters more than the part of the phrase's last word that it completes."""

SPLIT_ENDS = frozenset({"us"})
"""A word tiny.en writes for the unstressed end of a phrase's last word without spelling
it: flite's Scottish voice (awb) says "hey computer" and tiny.en writes "They compute us,
..." before 27 of the clips of eleven sets, where the "us" was taken for the command's first
word (docs/ACCURACY.md, twenty-third run)."""

DETERMINERS = frozenset(
    {"a", "an", "the", "my", "your", "our", "his", "her", "their", "its", "this", "that"}
    | {"these", "those", "some", "any", "no", "every", "each", "another", "new", "old", "own"}
)
"""The words of ``NOUN_MARKERS`` that make a noun phrase of the word after them ("a
computer", "my computer"); a preposition alone does not ("to consider" is how tiny.en
writes flite's "hey computer" in noise)."""
NOUN_MARKERS = DETERMINERS | frozenset(
    {"to", "of", "in", "on", "at", "for", "with", "from", "by", "about", "into"}
)
"""Words after which a one-word phrase is a noun in a sentence, not a name called: "my
computer crashed again", "turn the computer off", "is the computer still on". Such a
phrase is not taken from the words alone; the audio is asked (``near``, ``agent.rescore``),
since Whisper also writes "hey computer" as "A computer" or "The computer"."""

SUBJECT_VERBS = frozenset(
    {"can", "cannot", "cant", "could", "couldnt", "will", "wont", "would", "wouldnt"}
    | {"should", "shouldnt", "must", "may", "might", "shall"}
    | {"is", "isnt", "was", "wasnt", "has", "hasnt", "had", "does", "doesnt", "did", "didnt"}
)
"""Verbs that, straight after a one-word phrase, make it the subject of a sentence: "The
school computer can print in colour now", "A good computer must have a fast disk", "A
computer has no idea what a joke is" (``as_subject``)."""

NOT_VERBS_IN_S = frozenset(
    {"whats", "hows", "whos", "wheres", "whens", "whys", "thats", "theres", "heres", "lets"}
    | {"thanks", "please", "yours", "ours", "theirs", "always", "perhaps", "sometimes"}
)
"""Words ending in -s that open what is said to the phrase ("computer, what's the time",
"computer, let's go", "computer, thanks"), not a verb it does (``in_s``)."""

QUESTION_VERBS = SUBJECT_VERBS | frozenset({"do", "dont", "are", "arent"})
PRONOUNS = frozenset({"i", "you", "we", "it", "he", "she", "they", "there"})
"""A verb of ``QUESTION_VERBS`` and then one of these, straight after a phrase that opens
the words, put a question to it: "Computer will it rain tomorrow?" (``asked``)."""

QUESTION_SUBJECTS = PRONOUNS | frozenset(
    {"this", "that", "these", "those"}
    | {"the", "a", "an", "my", "your", "our", "his", "her", "their", "its", "some", "any"}
    | {"anyone", "someone", "anybody", "somebody", "everyone", "anything", "something"}
    | {"what", "who", "which", "where", "when", "how", "why"}
)
"""Words after such a verb that make it a question put to the phrase ("computer, can you
...", "will it rain tomorrow", "should I take an umbrella", "is the oven still on")."""

MERGE_PENALTY = 10.0
"""Taken off the score of opening words that had to be run together or split to compare
("heycomputer", "hey com puter"): such a comparison is looser, so it needs more."""


def similarity(heard: Sequence[str], phrase: Sequence[str]) -> float:
    """0-100. Word for word, the weakest word decides ("the commuter" is not "hey
    computer": "the" is far from "hey"); with a different word count, the words are run
    together and compared whole, less ``MERGE_PENALTY``."""
    if len(heard) == len(phrase):
        return (
            min(Indel.normalized_similarity(h, p) for h, p in zip(heard, phrase, strict=True))
            * 100.0
        )
    whole = Indel.normalized_similarity("".join(heard), "".join(phrase)) * 100.0
    return max(0.0, whole - MERGE_PENALTY)


def _after_marker(text_words: Sequence[str], lead: int, span: int) -> bool:
    """A one-word phrase heard at ``lead`` comes after a word of ``NOUN_MARKERS``: the word
    before it, or the first of two words compared run together ("a computer" as
    "acomputer")."""
    before = text_words[lead - 1] if lead else ""
    first = text_words[lead] if span == 2 else ""
    return before in NOUN_MARKERS or first in NOUN_MARKERS


def in_s(word: str) -> bool:
    """A word that, straight after a one-word phrase, makes the phrase a word of a sentence
    by its -s: a verb it does ("The other computer needs an update", "my computer crashes")
    or a plural it names ("computer prices will go up"). Not a verb of ``QUESTION_VERBS``
    ("does", "is": ``as_subject`` asks those about a question), not "-ss", not a word of
    ``NOT_VERBS_IN_S``; four letters or more ("its", "yes")."""
    return (
        len(word) >= 4
        and word.endswith("s")
        and not word.endswith("ss")
        and word not in QUESTION_VERBS
        and word not in NOT_VERBS_IN_S
    )


def as_subject(phrase: str, after: Sequence[str]) -> bool:
    """Is a one-word phrase the subject of the words after it: a verb of ``SUBJECT_VERBS``
    follows it, and no word of ``QUESTION_SUBJECTS`` after that ("... computer must have a
    fast disk", not "computer, can you tell me a story"), or a word in -s (``in_s``: "...
    computer needs an update")? Then it is most likely the word used in a sentence, but
    Whisper also writes "hey computer, cancel all timers" as "Here computer can sit all
    time at": such a wake counts only if the words make a command."""
    return (
        len(words(phrase)) == 1
        and len(after) >= 2
        and ((after[0] in SUBJECT_VERBS and after[1] not in QUESTION_SUBJECTS) or in_s(after[0]))
    )


def asked(after: Sequence[str]) -> bool:
    """Do the words after a phrase open with a question put to it: a verb of
    ``QUESTION_VERBS`` and a word of ``PRONOUNS`` ("will it rain", "can we turn the heating
    down", "should I take an umbrella")? tiny.en writes them run straight on from the phrase
    ("computer will it rain tomorrow"), with no pause marked; a sentence about a computer
    does not go on so."""
    return len(after) >= 2 and after[0] in QUESTION_VERBS and after[1] in PRONOUNS


def split_tail(heard_last: str, phrase_last: str, after: Sequence[str]) -> list[str]:
    """The words after a phrase matched word for word, without the end of its last word if
    Whisper wrote that as a word of its own: "hey compute her, what time is it" -> "what
    time is it" ("compute" + "her" for "computer"; also "our", "or", and ``SPLIT_ENDS``:
    "They compute us, cancel it all time us"). The heard word must be the start of the
    phrase's word, and the next one short and ending in the rest of it, or one of those."""
    rest = phrase_last[len(heard_last) :]
    if (
        after
        and rest
        and phrase_last.startswith(heard_last)
        and (
            (after[0].endswith(rest) and len(after[0]) <= len(rest) + SPLIT_EXTRA)
            or after[0] in SPLIT_ENDS
        )
    ):
        return list(after[1:])
    return list(after)


def greeting(heard: Sequence[str], pw: Sequence[str]) -> bool:
    """The heard words open with the phrase's own opening words and hold nothing, or a
    single syllable, where the rest of a longer phrase would be: "Hey.", "Hey man." or
    "Okay now" for "hey mycroft" or "okay nabu". That is what people say to each other,
    not a misspelling of the name; the misspellings tiny.en writes keep its syllables
    ("Hey mik lot", "Okay armu", "Hey, Raspy"; docs/ACCURACY.md, eighteenth run)."""
    same = 0
    while same < min(len(heard), len(pw) - 1) and heard[same] == pw[same]:
        same += 1
    if not same:
        return False
    return syllables(heard[same:]) < min(2, syllables(pw[same:]))


def sounds(ws: Sequence[str]) -> list[str]:
    """Metaphone keys, word by word ("hey minecraft" -> ["H", "MNKRFT"])."""
    return [jellyfish.metaphone(w) for w in ws]


class WakeMatcher:
    def __init__(
        self,
        phrases: Sequence[str],
        threshold: float = 80.0,
        max_leading_words: int = 2,
        phonetic_threshold: float = 0.0,
        unasked: Collection[str] = (),
    ):
        """``unasked``: phrases the audio will not be asked about (``wake.rescore``); after
        a word of ``NOUN_MARKERS`` those are taken from the words as anywhere else, since
        nothing else could settle them."""
        # Longest first: "hey computer" must win over "computer".
        self._phrases = sorted(
            ((p, words(p)) for p in phrases), key=lambda item: -len("".join(item[1]))
        )
        self._sounds = {p: sounds(pw) for p, pw in self._phrases}
        self.threshold = threshold
        self.max_leading_words = max_leading_words
        self.phonetic_threshold = phonetic_threshold
        self.unasked = frozenset(unasked)

    @classmethod
    def from_config(cls, w: WakeConfig, unasked: Collection[str] | None = None) -> WakeMatcher:
        """The matcher the ``wake`` section asks for. ``unasked``: the phrases the audio
        will not be asked about; None, for a tool that has no audio (``voiceflow try``),
        means all of them, so the words alone decide."""
        return cls(
            w.phrases,
            w.threshold,
            w.max_leading_words,
            w.phonetic_threshold,
            w.phrases if unasked is None else unasked,
        )

    def _score(self, candidate: Sequence[str], phrase: str, pw: Sequence[str]) -> float:
        """The spelling similarity if it reaches ``threshold``; else, with phonetic
        matching on, the similarity of the Metaphone keys if it reaches
        ``phonetic_threshold``; else 0."""
        score = similarity(candidate, pw)
        if score >= self.threshold:
            return score
        if self.phonetic_threshold <= 0:
            return 0.0
        phonetic = similarity(sounds(candidate), self._sounds[phrase])
        return phonetic if phonetic >= self.phonetic_threshold else 0.0

    def match(self, text_words: Sequence[str], nouns: bool = False) -> WakeMatch | None:
        """The phrase the opening words hold, with the words after it. With ``nouns``, also
        a one-word phrase after a word of ``NOUN_MARKERS`` ("a computer, cancel all time
        in"): whether a reading may hold the phrase at all, for the audio to settle."""
        best: WakeMatch | None = None
        best_key = (-1.0, -1)
        for phrase, pw in self._phrases:
            target = "".join(pw)
            k = len(pw)
            for lead in range(min(self.max_leading_words, max(len(text_words) - 1, 0)) + 1):
                for span in (k, k - 1, k + 1):
                    if span < 1 or lead + span > len(text_words):
                        continue
                    score = self._score(text_words[lead : lead + span], phrase, pw)
                    if score <= 0 or (lead and k == 1 and score < 100):
                        # One word after others ("the commuter", "to compute") is ordinary
                        # talk unless it is the very word: only the opening word of an
                        # utterance may be a near miss of a one-word phrase.
                        continue
                    if (
                        k == 1
                        and not nouns
                        and phrase not in self.unasked
                        and _after_marker(text_words, lead, span)
                    ):
                        continue
                    # Prefer the better score (a little less for a later spot), then the
                    # longer phrase: "computer, ..." is "computer", not "hey computer".
                    key = (round(score - lead * 0.5, 1), len(target))
                    if key > best_key:
                        best_key = key
                        after = text_words[lead + span :]
                        if span == k:
                            after = split_tail(text_words[lead + span - 1], pw[-1], after)
                        best = WakeMatch(phrase, round(score, 1), list(after))
        return best

    def near(self, text_words: Sequence[str], floor: float) -> list[WakeMatch]:
        """Phrases the opening words come close to, compared whole by spelling or by sound,
        at ``floor`` or above (best first; a phrase may come with several spans): what
        Whisper may have made of an unusual phrase ("okay now move", "okay armu" for "okay
        nabu") or of a common one in noise ("They can feel her" for "hey computer"), for
        the audio to settle (``agent.rescore``). The spans run from one word fewer than the
        phrase has to two more, since Whisper may write one word as three ("can feel her").
        A span of two more must leave words after it: a short request said on its own
        ("cancel all timers.") is as near "computer" as any three words are, and lost only
        7.5 when read as "Computer." (docs/ACCURACY.md, seventh run). One more may take them
        all: "Okay da vu." is "okay nabu" said alone. A span of one fewer that is the
        phrase's own opening words ("Hey." for "hey mycroft", "Okay." for "okay nabu") is no
        misspelling of it but what people say to each other, and is not asked about: a
        news clip's "Hey." lost only 6.5 when read as "Hey mycroft." (docs/ACCURACY.md,
        sixteenth run). Nor is one that holds them with a single syllable in place of a
        longer name ("Hey man." and "Hey mom, what time is it?" for "hey mycroft", lost only
        7.15 and 9.22; ``greeting``)."""
        found: list[WakeMatch] = []
        for phrase, pw in self._phrases:
            k, target, sound = len(pw), "".join(pw), "".join(self._sounds[phrase])
            for span in (k - 1, k, k + 1, k + 2):
                if span < 1 or span > len(text_words) or span == k + 2 == len(text_words):
                    continue
                heard = text_words[:span]
                if greeting(heard, pw):
                    continue
                score = 100.0 * max(
                    Indel.normalized_similarity("".join(heard), target),
                    Indel.normalized_similarity("".join(sounds(heard)), sound),
                )
                if score >= floor:
                    found.append(WakeMatch(phrase, round(score, 1), list(text_words[span:])))
        return sorted(found, key=lambda m: -m.score)


@dataclass(frozen=True)
class GateDecision:
    kind: str
    """``command`` (dispatch ``command``), ``wake_only`` (armed; wait) or ``ignored``."""
    command: list[str]
    phrase: str | None = None
    score: float | None = None
    follow_up: bool = False
    """The command came in the follow-up window, without a wake phrase of its own."""


class WakeGate:
    """Wake matching plus the follow-up window, as a state machine over stream time."""

    def __init__(self, matcher: WakeMatcher, follow_up_s: float) -> None:
        self.matcher = matcher
        self.follow_up_s = follow_up_s
        self._armed_until: float | None = None

    def feed(self, text_words: Sequence[str], start_s: float, end_s: float) -> GateDecision:
        m = self.matcher.match(text_words)
        if m is not None:
            return self.accept(m, end_s)
        if self.armed(start_s) and text_words:
            self._armed_until = None
            return GateDecision("command", list(text_words), follow_up=True)
        if self._armed_until is not None and start_s > self._armed_until:
            self._armed_until = None
        return GateDecision("ignored", list(text_words))

    def armed(self, start_s: float) -> bool:
        """Would an utterance starting at ``start_s`` fall in the follow-up window?"""
        return self._armed_until is not None and start_s <= self._armed_until

    def accept(self, m: WakeMatch, end_s: float) -> GateDecision:
        """The decision for a wake phrase heard in an utterance ending at ``end_s``: from
        ``feed``, or later, once the audio has confirmed a phrase the words only came
        near (``WakeMatcher.near``)."""
        if m.command:
            self._armed_until = None
            return GateDecision("command", m.command, m.phrase, m.score)
        self._armed_until = end_s + self.follow_up_s
        return GateDecision("wake_only", [], m.phrase, m.score)
