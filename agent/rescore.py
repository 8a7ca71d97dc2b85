"""Rescoring: when the words after the wake phrase match no command, ask the model which
command the audio says.

Whisper tiny.en mishears short commands in ways no text matching can undo ("what is the
maid" for "what is the date", "what made it to me" for "what day is it today"). The audio
still holds the answer: forced decoding gives each candidate sentence's mean token
log-probability. The candidates are the slot-less command phrases closest to what was heard
(``CANDIDATES`` of them, by string similarity); the model's own transcript is scored beside
them as the yardstick. A candidate is taken only when the audio supports it well on its own
(``MIN_LOGPROB``), nearly as well as the model's own reading (``MAX_GAP``), and better than
any other command (``MIN_MARGIN``). Measured on eval/manifest.yaml (docs/ACCURACY.md):
commands said that way are rescued; "what is the weather like", "play some music", "open
the garage door" score -2.6 or lower and are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.loader import Match, Registry
from agent.matching import loose_variants

CANDIDATES = 8
MIN_LOGPROB = -2.0
MAX_GAP = 1.6
MIN_MARGIN = 0.2


@dataclass(frozen=True)
class Candidate:
    match: Match
    text: str
    """The phrase as a sentence to score ("what day is it today")."""


def candidates(registry: Registry, heard: Sequence[str], k: int = CANDIDATES) -> list[Candidate]:
    """The ``k`` slot-less command phrases closest to the heard words, best first."""
    found: dict[str, tuple[float, Candidate]] = {}
    for cmd in registry.commands:
        for t in cmd.templates:
            for score, text in loose_variants(t, heard):
                if text not in found or score > found[text][0]:
                    found[text] = (score, Candidate(Match(cmd, {}, t.source, 0.0, (0, 0)), text))
    ranked = sorted(found.values(), key=lambda item: -item[0])
    return [c for _, c in ranked[:k]]


def choose(own: float, scored: Sequence[tuple[float, Candidate]]) -> Candidate | None:
    """The candidate the audio supports, or None. ``own`` is the model's own transcript's
    score; ``scored`` pairs each candidate with its score."""
    if not scored:
        return None
    ranked = sorted(scored, key=lambda item: -item[0])
    best_score, best = ranked[0]
    name = (best.match.command.plugin, best.match.command.name)
    other = next(
        (s for s, c in ranked[1:] if (c.match.command.plugin, c.match.command.name) != name),
        None,
    )
    if best_score < MIN_LOGPROB or own - best_score > MAX_GAP:
        return None
    if other is not None and best_score - other < MIN_MARGIN:
        return None
    return best
