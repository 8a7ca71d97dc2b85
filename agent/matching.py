"""Command templates: compiled once into an exact regex and a set of fuzzy variants.

Template syntax (over the normalised command text, see ``agent.text.words``):

- ``what time is it``        literal words
- ``{name}``                  a slot of one or more words (a string), not only function
                              words: "set to timer" has no timer named "to"
- ``{name:int}``              a number: "5", "five", "twenty five", "a hundred and two"
- ``{name:duration}``         seconds: "ninety seconds", "1 and a half hours", "half an hour"
- ``{name:time}``             a time of day (``agent.timeofday.TimeOfDay``): "5 pm", "5:30",
                              "half past five", "noon"
- ``[please]``                optional words; ``minute[s]`` an optional word ending
- ``(start|begin)``           alternatives, each one or more words; ``[the|a]`` optional ones

Matching first tries the exact regex (score 100). Failing that, each variant of the
template (every choice of alternatives and optionals) is aligned with the text word for
word, slots captured by type, and scored by how closely its literal words match
(rapidfuzz ratio, weighted by word length), ignoring "a"/"an"/"the" slips at a small cost.
So "set a time for five minutes" still reaches "set a timer for {minutes:int} minute[s]".

Last, for templates without slots, ``loose_score`` compares the whole text with each variant
as one string, so a dropped or changed short word ("what is it today", "what time in it")
still scores; the registry uses it only when nothing else matched, and only when one command
is clearly ahead (see ``Registry.match``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from agent.numbers import DURATION_WORDS, NUMBER_WORDS, parse_duration, parse_int
from agent.text import words
from agent.timeofday import TIME_WORDS, parse_time_of_day


class TemplateError(ValueError):
    """A template cannot be compiled; the message says where and why."""


def _word_alternation(vocabulary: frozenset[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(vocabulary, key=len, reverse=True))


_SLOT_PATTERNS = {
    "str": r"(?:\S+ )+?",
    "int": rf"(?:\d+ |(?:{_word_alternation(NUMBER_WORDS)}) )+?",
    "duration": rf"(?:\d+(?:\.\d+)? |(?:{_word_alternation(DURATION_WORDS)}) )+?",
    # greedy, unlike the others: "at five to six to call mum" is 5:55, not 5:00; but no
    # time ends in a link ("at 25 past 2 to to call" is 2:25, not "25 past 2 to")
    "time": rf"(?:\d+(?:[.:]\d+)? |(?:{_word_alternation(TIME_WORDS)}) )+"
    r"(?<!\bto )(?<!\bpast )(?<!\bat )(?<!\bon )",
}
ARTICLES = frozenset({"a", "an", "the"})
FUNCTION_WORDS = (
    ARTICLES
    | {"to", "of", "at", "in", "on", "for", "by", "with", "from", "and"}
    | {"or", "but", "as", "it", "is", "all", "so", "up"}
    | {"am", "are", "was", "were", "be", "been", "has", "have", "had", "do", "does", "did"}
    | {"this", "that", "these", "those"}
)
"""Words that cannot make a text slot on their own. Whisper turns "set a timer" into "set to
timer" and "cancel all timers" into "cancel of all timers"; read as a timer named "to" or
"of all", the wrong command runs (docs/ACCURACY.md). Likewise the forms of "be", "have"
and "do" ("she had time for five minutes" is no five-minute timer named "had"), and the
words that point instead of naming: "cancel that timer" is no timer called "that"."""


def _text(ws: list[str]) -> str | None:
    return None if all(w in FUNCTION_WORDS for w in ws) else " ".join(ws)


_CONVERTERS: dict[str, Callable[[list[str]], Any]] = {
    "str": _text,
    "int": parse_int,
    "duration": parse_duration,
    "time": parse_time_of_day,
}
SLOT_TYPES = frozenset(_SLOT_PATTERNS)
ARTICLE_PENALTY = 3.0
"""Score lost by a fuzzy match for each "a"/"an"/"the" that differs."""
WORD_FLOOR = 60.0
"""A fuzzy match fails if any one literal word scores below this ("date" vs "time" is 50)."""
MAX_VARIANTS = 512
"""Templates with more variants than this are matched exactly only."""

_TOKEN = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)|[^\s\[\](){}]+|\s+|.")
_SLOT = re.compile(r"\{\s*([A-Za-z_]\w*)\s*(?::\s*(\w+)\s*)?\}")


# ------------------------------------------------------------------------- template AST
@dataclass(frozen=True)
class Slot:
    name: str
    kind: str


@dataclass(frozen=True)
class Choice:
    options: tuple[tuple[str, ...], ...]
    """Each option is a sequence of literal words."""
    optional: bool


Element = str | Slot | Choice
"""A literal word, a slot, or a choice of word sequences."""


def parse_template(template: str) -> list[Element]:
    if not template.strip():
        raise TemplateError("empty template")
    out: list[Element] = []
    seen: set[str] = set()
    prev_word = False
    for m in _TOKEN.finditer(template):
        tok = m.group(0)
        if tok.isspace():
            prev_word = False
            continue
        if tok.startswith("{"):
            sm = _SLOT.fullmatch(tok)
            if sm is None:
                raise TemplateError(f"bad slot {tok!r} (use {{name}} or {{name:type}})")
            name, kind = sm.group(1), sm.group(2) or "str"
            if kind not in _SLOT_PATTERNS:
                known = ", ".join(sorted(_SLOT_PATTERNS))
                raise TemplateError(f"unknown slot type {kind!r} (known: {known})")
            if name in seen:
                raise TemplateError(f"slot {name!r} appears twice")
            seen.add(name)
            out.append(Slot(name, kind))
        elif tok.startswith("["):
            body = tok[1:-1]
            if prev_word and body.isalpha() and out and isinstance(out[-1], str):
                stem = out.pop()  # "minute[s]": the word with or without the ending
                assert isinstance(stem, str)
                out.append(Choice(((stem,), (stem + body.lower(),)), optional=False))
            else:
                out.append(Choice(_alternatives(body), optional=True))
        elif tok.startswith("("):
            out.append(Choice(_alternatives(tok[1:-1]), optional=False))
        elif tok in "[](){}":
            raise TemplateError(f"unbalanced {tok!r}")
        else:
            out.extend(words(tok))  # punctuation in a template is ignored, as in speech
            prev_word = bool(words(tok))
            continue
        prev_word = False
    if not any(isinstance(e, (str, Slot)) or not e.optional for e in out):
        raise TemplateError("no words")
    return out


def _alternatives(body: str) -> tuple[tuple[str, ...], ...]:
    alts = tuple(tuple(words(a)) for a in body.split("|"))
    if any(not a for a in alts):
        raise TemplateError("empty alternative")
    return alts


def _regex(elements: Sequence[Element | str]) -> str:
    parts = []
    for e in elements:
        if isinstance(e, str):
            parts.append(re.escape(e) + " ")
        elif isinstance(e, Slot):
            parts.append(f"(?P<{e.name}>{_SLOT_PATTERNS[e.kind]})")
        else:
            alts = "|".join("".join(re.escape(w) + " " for w in opt) for opt in e.options)
            parts.append(f"(?:{alts}){'?' if e.optional else ''}")
    return "".join(parts)


# ------------------------------------------------------------------------- compiled form
@dataclass(frozen=True)
class Variant:
    """One concrete path through a template, for fuzzy alignment."""

    literals: tuple[str, ...]
    """Its literal words with articles removed, in order."""
    articles: int
    """Articles the path contains."""
    shape: re.Pattern[str]
    """Literal words as single-word wildcards, slots as their typed patterns."""
    spoken: str = ""
    """The path as said, articles included and each slot as ``{name}``: "what is the date"."""
    bare_slots: frozenset[str] = frozenset()
    """Slots not preceded by an article of the path: an article heard just before one
    belongs to the slot ("remind me to {text}": "the doctor")."""


@dataclass(frozen=True)
class CompiledTemplate:
    source: str
    pattern: re.Pattern[str]
    slots: dict[str, str]
    """Slot name -> type."""
    literals: int
    """Literal words a full match must contain (specificity)."""
    is_regex: bool = False
    """A power user's ``regex=``: matched as written against the words joined by spaces."""
    variants: tuple[Variant, ...] = ()
    open_end: bool = False
    """The last words heard go into a slot ("repeat after me {text}"), so a pause may be
    the middle of it, not the end: such a match is never acted on before the silence."""


def compile_template(template: str) -> CompiledTemplate:
    elements = parse_template(template)
    slots = {e.name: e.kind for e in elements if isinstance(e, Slot)}
    literals = sum(
        1 if isinstance(e, str) else (min(len(o) for o in e.options) if not e.optional else 0)
        for e in elements
        if not isinstance(e, Slot)
    )
    try:
        pattern = re.compile(_regex(elements))
    except re.error as exc:  # pragma: no cover - our own construction
        raise TemplateError(f"cannot compile: {exc}") from None
    return CompiledTemplate(
        template, pattern, slots, literals, False, _variants(elements), _open_end(elements)
    )


def with_text_slot(template: str, name: str) -> str:
    """The template with its slot ``name`` taking any words, whatever its type: "remind me
    at {when:time} to {text}" -> "remind me at {when} to {text}"."""
    return _SLOT.sub(lambda m: f"{{{name}}}" if m.group(1) == name else m.group(0), template)


def _open_end(elements: list[Element]) -> bool:
    """A slot can be the last thing said: the template ends in one, or in words that may
    be left out after one ("remind me to {text} [please]")."""
    for e in reversed(elements):
        if isinstance(e, Slot):
            return True
        if not (isinstance(e, Choice) and e.optional):
            return False
    return False


def _variants(elements: list[Element]) -> tuple[Variant, ...]:
    choices: list[list[tuple[Element, ...]]] = []
    for e in elements:
        if isinstance(e, Choice):
            opts: list[tuple[Element, ...]] = [tuple(o) for o in e.options]
            if e.optional:
                opts.append(())
            choices.append(opts)
        else:
            choices.append([(e,)])
    count = 1
    for c in choices:
        count *= len(c)
    if count > MAX_VARIANTS:
        return ()
    out = []
    for combo in itertools.product(*choices):
        seq = [e for part in combo for e in part]
        lits = tuple(e for e in seq if isinstance(e, str) and e not in ARTICLES)
        if not lits:
            continue
        shape_parts = []
        for e in seq:
            if isinstance(e, Slot):
                shape_parts.append(f"(?P<{e.name}>{_SLOT_PATTERNS[e.kind]})")
            elif e not in ARTICLES:
                shape_parts.append(f"(?P<_l{len(shape_parts)}>\\S+) ")
        articles = sum(1 for e in seq if isinstance(e, str) and e in ARTICLES)
        spoken = " ".join(f"{{{e.name}}}" if isinstance(e, Slot) else str(e) for e in seq)
        bare = frozenset(
            e.name
            for i, e in enumerate(seq)
            if isinstance(e, Slot)
            and not (i and isinstance(seq[i - 1], str) and seq[i - 1] in ARTICLES)
        )
        out.append(Variant(lits, articles, re.compile("".join(shape_parts)), spoken, bare))
    return tuple(out)


def compile_regex(expr: str) -> CompiledTemplate:
    try:
        pattern = re.compile(expr)
    except re.error as exc:
        raise TemplateError(f"bad regex: {exc}") from None
    groups = dict.fromkeys(pattern.groupindex, "str")
    return CompiledTemplate(expr, pattern, groups, 0, True, open_end=bool(groups))


# ------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class TemplateMatch:
    template: CompiledTemplate
    slots: dict[str, Any]
    score: float
    """100 for an exact match; below for a fuzzy one."""
    specificity: tuple[int, int]
    """(literal words, -slot words): more literal and fewer slot words is more specific."""


def _convert(
    t: CompiledTemplate, m: re.Match[str], heard: Callable[[str], list[str]] | None = None
) -> tuple[dict[str, Any], int] | None:
    """Typed slot values from a match; ``heard(name)`` gives a slot's words when they are
    not simply the matched group (the fuzzy path, which matched without articles)."""
    slots: dict[str, Any] = {}
    slot_words = 0
    for name, kind in t.slots.items():
        value = m.group(name)
        if value is None:
            continue
        ws = heard(name) if heard is not None else value.split()
        slot_words += len(ws)
        converted = _CONVERTERS[kind](ws)
        if converted is None:
            return None
        slots[name] = converted
    return slots, slot_words


def match_template(
    t: CompiledTemplate, text_words: Sequence[str], *, fuzzy: bool = True
) -> TemplateMatch | None:
    """Match the whole command text: exactly, else (if ``fuzzy``) the best-scoring variant."""
    if t.is_regex:
        m = t.pattern.fullmatch(" ".join(text_words))
        if m is None:
            return None
        return TemplateMatch(
            t, {k: v for k, v in m.groupdict().items() if v is not None}, 100.0, (0, 0)
        )
    m = t.pattern.fullmatch(" ".join(text_words) + " ")
    if m is not None:
        converted = _convert(t, m)
        if converted is not None:
            return TemplateMatch(t, converted[0], 100.0, (t.literals, -converted[1]))
    if not fuzzy or not t.variants:
        return None
    return _fuzzy(t, text_words)


def _fuzzy(t: CompiledTemplate, text_words: Sequence[str]) -> TemplateMatch | None:
    where = [i for i, w in enumerate(text_words) if w not in ARTICLES]
    kept = [text_words[i] for i in where]
    text_articles = len(text_words) - len(kept)
    text = " ".join(kept) + " "
    starts = list(itertools.accumulate((len(w) + 1 for w in kept), initial=0))
    best: TemplateMatch | None = None
    for v in t.variants:
        m = v.shape.fullmatch(text)
        if m is None:
            continue
        total = weight = 0.0
        worst = 100.0
        heard = [g for name, g in m.groupdict().items() if name.startswith("_l")]
        for lit, said in zip(v.literals, heard, strict=True):
            sim = fuzz.ratio(lit, said)
            worst = min(worst, sim)
            total += sim * len(lit)
            weight += len(lit)
        if worst < WORD_FLOOR:  # one word entirely different: not this command
            continue
        score = total / weight - ARTICLE_PENALTY * abs(text_articles - v.articles)
        converted = _convert(t, m, _slot_words(m, v, text_words, where, starts))
        if converted is None:
            continue
        if best is None or score > best.score:
            best = TemplateMatch(t, converted[0], round(score, 1), (len(v.literals), -converted[1]))
    return best


def bare(text_words: Iterable[str]) -> str:
    """The words joined without their articles: the form whole-string comparison uses."""
    return " ".join(w for w in text_words if w not in ARTICLES)


def loose_variants(t: CompiledTemplate, text_words: Sequence[str]) -> list[tuple[float, str]]:
    """(0-100 score, phrase as said) for each variant of a slot-less template, the text
    and the variant compared as whole strings with articles left out on both sides; [] for
    templates with slots or a regex."""
    if t.slots or t.is_regex:
        return []
    text = bare(text_words)
    return [(fuzz.ratio(text, " ".join(v.literals)), v.spoken) for v in t.variants]


def loose_score(t: CompiledTemplate, text_words: Sequence[str]) -> float:
    """The best ``loose_variants`` score of a template (0 when it has none)."""
    return max((score for score, _ in loose_variants(t, text_words)), default=0.0)


def _slot_words(
    m: re.Match[str],
    v: Variant,
    text_words: Sequence[str],
    where: Sequence[int],
    starts: Sequence[int],
) -> Callable[[str], list[str]]:
    """A slot's words in the heard text, articles included: the fuzzy match ran on the text
    without them, so map the group back ("call doctor" -> "call the doctor")."""

    def heard(name: str) -> list[str]:
        a, b = m.span(name)
        first, last = starts.index(a), starts.index(b) - 1
        lo, hi = where[first], where[last]
        if name in v.bare_slots:
            while (
                lo > 0
                and text_words[lo - 1] in ARTICLES
                and (first == 0 or lo - 1 > where[first - 1])
            ):
                lo -= 1
        return list(text_words[lo : hi + 1])

    return heard
