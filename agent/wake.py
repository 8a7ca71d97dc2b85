"""Wake phrase: find it near the start of a transcript, tolerant of how Whisper spells it.

Whisper writes "hey computer" as "Hey, computer.", "Hey computer's", "Hey Computer!" or
"heycomputer". Both sides are reduced to lower-case words; the opening words are compared
to each phrase with spaces removed (so splits and merges cost nothing) by a normalised
edit-distance score (rapidfuzz). The longest phrase scoring at or above the threshold wins.

``WakeGate`` adds the follow-up window: the phrase alone ("hey computer" ... pause ...
"what time is it") arms it, and the next utterance that starts within ``follow_up_s`` of
the end of the wake utterance is taken as the command. Time is stream time (seconds of
audio), so the gate is pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from agent.text import words


@dataclass(frozen=True)
class WakeMatch:
    phrase: str
    """The configured phrase that matched."""
    score: float
    """Similarity 0-100."""
    command: list[str]
    """The words after the phrase."""


class WakeMatcher:
    def __init__(self, phrases: Sequence[str], threshold: float = 80.0, max_leading_words: int = 2):
        # Longest first: "hey computer" must win over "computer".
        self._phrases = sorted(
            ((p, words(p)) for p in phrases), key=lambda item: -len("".join(item[1]))
        )
        self.threshold = threshold
        self.max_leading_words = max_leading_words

    def match(self, text_words: Sequence[str]) -> WakeMatch | None:
        best: WakeMatch | None = None
        best_key = (-1.0, -1)
        for phrase, pw in self._phrases:
            target = "".join(pw)
            k = len(pw)
            for lead in range(min(self.max_leading_words, max(len(text_words) - 1, 0)) + 1):
                for span in (k, k - 1, k + 1):
                    if span < 1 or lead + span > len(text_words):
                        continue
                    candidate = "".join(text_words[lead : lead + span])
                    score = Indel.normalized_similarity(candidate, target) * 100.0
                    if score < self.threshold:
                        continue
                    # Prefer the better score (a little less for a later spot), then the
                    # longer phrase: "computer, ..." is "computer", not "hey computer".
                    key = (round(score - lead * 0.5, 1), len(target))
                    if key > best_key:
                        best_key = key
                        best = WakeMatch(phrase, round(score, 1), list(text_words[lead + span :]))
        return best


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
            if m.command:
                self._armed_until = None
                return GateDecision("command", m.command, m.phrase, m.score)
            self._armed_until = end_s + self.follow_up_s
            return GateDecision("wake_only", [], m.phrase, m.score)
        if self._armed_until is not None and start_s <= self._armed_until and text_words:
            self._armed_until = None
            return GateDecision("command", list(text_words), follow_up=True)
        if self._armed_until is not None and start_s > self._armed_until:
            self._armed_until = None
        return GateDecision("ignored", list(text_words))
