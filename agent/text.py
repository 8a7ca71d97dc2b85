"""Text cleaning and normalisation, each one pass over precompiled patterns.

``clean`` makes Whisper's text presentable (the raw text is kept beside it);
``words`` turns text into the lower-case word list that wake and command matching use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

# One alternation, one pass: runs of white space; white space before closing punctuation.
_CLEAN = re.compile(r"\s+(?=[,.!?;:)\]}])|\s{2,}|[\u2018\u2019]")
_QUOTES = {"\u2018": "'", "\u2019": "'"}


def _clean_sub(m: re.Match[str]) -> str:
    s = m.group(0)
    if s in _QUOTES:
        return _QUOTES[s]
    return "" if m.end() < len(m.string) and m.string[m.end()] in ",.!?;:)]}" else " "


def clean(raw: str) -> str:
    """Collapse white space, drop spaces before punctuation, straighten quotes, strip."""
    return _CLEAN.sub(_clean_sub, raw).strip()


# A number (digits with inner separators: 1,000 / 2.5 / 7:30) or a word (inner apostrophes).
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['\u2019][^\W\d_]+)*")


SPOKEN = {"dr": "doctor", "mr": "mister", "mrs": "missus"}
"""Titles Whisper writes short ("call Dr. Patel"), as they are said: a reminder set as
"call the doctor" and cancelled as "my Dr. reminder" (or the other way round) has the same
words."""


def words(text: str) -> list[str]:
    """Lower-case words: punctuation dropped, hyphens split ("5-minute" -> 5 minute),
    apostrophes removed ("what's" -> whats), thousands separators removed (1,000 -> 1000),
    titles written short said in full (``SPOKEN``: "Dr." -> doctor)."""
    out = _TOKEN.findall(text.lower())
    for i, w in enumerate(out):
        if "'" in w or "\u2019" in w:
            out[i] = w.replace("'", "").replace("\u2019", "")
        elif "," in w:
            out[i] = w.replace(",", "")
        elif w in SPOKEN:
            out[i] = SPOKEN[w]
    return out


_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def syllables(ws: Sequence[str]) -> int:
    """About how many syllables the words hold: each word's groups of vowels, a final
    silent "e" left out ("move" 1, "middle" 2, "mycroft" 2, "armu" 2), at least one for
    any word (a number). Near enough to tell a one-syllable word from a longer name."""
    n = 0
    for w in ws:
        groups = len(_VOWEL_GROUP.findall(w))
        if groups > 1 and w.endswith("e") and not w.endswith(("le", "ee", "ye")):
            groups -= 1
        n += max(groups, 1)
    return n


NEAR_REPEAT = 90.0
"""Two halves of a transcript this similar (rapidfuzz ratio, 0-100) are one phrase twice."""


def normalize(text: str) -> str:
    """``words`` joined by single spaces."""
    return " ".join(words(text))


# What Whisper writes for non-speech (music, noise, breathing, silence): captions and
# sign-offs from its training subtitles. Matched against the whole normalised transcript.
PHANTOMS = frozenset(
    {
        "you",
        "thank you",
        "thanks",
        "thank you very much",
        "thank you so much",
        "thanks for watching",
        "thank you for watching",
        "thank you so much for watching",
        "thank you for watching and ill see you next time",
        "please subscribe",
        "subscribe",
        "like and subscribe",
        "please like and subscribe",
        "bye",
        "bye bye",
        "goodbye",
        "see you next time",
        "ill see you next time",
        "music",
        "applause",
        "laughter",
        "silence",
        "sigh",
        "breathing",
        "the end",
        "so",
        "oh",
        "uh",
        "um",
        "hmm",
        "mm",
        "ah",
    }
)
# Bracketed captions ("[Music]", "(upbeat music)", "*sighs*") and note signs.
_CAPTIONS = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|[\u266a\u266b\u266c]")


def is_phantom(raw: str) -> bool:
    """True when a transcript is only captions, or a phrase Whisper invents for non-speech."""
    rest = normalize(_CAPTIONS.sub(" ", raw))
    return not rest or rest in PHANTOMS


def collapse_repeats(text: str) -> str:
    """Whisper sometimes loops, writing a phrase two or more times ("what time is it? what
    time is it? what"): keep it once. Only a text that is nothing but repeats of its opening
    words (the last repeat may be cut short, and its last word too, where the length cap
    stopped the decoding inside a word: "Hey raspy, what time is it? Hey raspy, what time is
    it? Hey r"), or two halves that differ in a few letters (``NEAR_REPEAT``), is changed."""
    tokens = text.split()
    n = len(tokens)
    if n < 4:
        return text
    keys = [normalize(t) for t in tokens]
    last = keys[-1]
    for p in range(2, n // 2 + 1):
        if all(keys[i] == keys[i % p] for i in range(p, n - 1)) and (
            last == keys[(n - 1) % p] or (last and keys[(n - 1) % p].startswith(last))
        ):
            return " ".join(tokens[:p])
    # Said twice, spelt differently the second time ("Hey mecroft. What time is it? Hey me
    # craft. What time is it?"): both halves the same but for a few letters.
    for p in range(3, n - 2):
        first, second = " ".join(keys[:p]), " ".join(keys[p:])
        if abs(len(first) - len(second)) <= 0.2 * len(first) and (
            fuzz.ratio(first, second) >= NEAR_REPEAT
        ):
            return " ".join(tokens[:p])
    return text
