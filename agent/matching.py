"""Command templates compiled to regular expressions, and ranked matching.

Template syntax (over the normalised command text, see ``agent.text.words``):

- ``what time is it``        literal words
- ``{name}``                  a slot of one or more words (a string)
- ``{name:int}``              a number: "5", "five", "twenty five", "a hundred and two"
- ``[please]``                optional words; ``minute[s]`` an optional word ending
- ``(start|begin)``           alternatives, each one or more words; ``[the|a]`` optional ones

Templates compile once, at load. Among several matching commands the most specific one
wins (the most literal words, then the fewest slot words), ties broken by load order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agent.numbers import NUMBER_WORDS, parse_int
from agent.text import words


class TemplateError(ValueError):
    """A template cannot be compiled; the message says where and why."""


_NUMBER_WORD_RE = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_SLOT_PATTERNS = {
    "str": r"(?:\S+ )+?",
    "int": rf"(?:\d+ |(?:{_NUMBER_WORD_RE}) )+?",
}
_CONVERTERS: dict[str, Callable[[list[str]], Any]] = {
    "str": lambda ws: " ".join(ws),
    "int": parse_int,
}
SLOT_TYPES = frozenset(_SLOT_PATTERNS)

_TOKEN = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)|[^\s\[\](){}]+|\s+|.")
_SLOT = re.compile(r"\{\s*([A-Za-z_]\w*)\s*(?::\s*(\w+)\s*)?\}")


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


def _alternatives(body: str, template: str) -> list[list[str]]:
    alts = [words(a) for a in body.split("|")]
    if any(not a for a in alts):
        raise TemplateError(f"empty alternative in {template!r}")
    return alts


def _seq(ws: list[str]) -> str:
    return "".join(re.escape(w) + " " for w in ws)


def compile_template(template: str) -> CompiledTemplate:
    if not template.strip():
        raise TemplateError("empty template")
    parts: list[str] = []
    slots: dict[str, str] = {}
    literals = 0
    prev_word = False
    for m in _TOKEN.finditer(template):
        tok = m.group(0)
        if tok.isspace():
            prev_word = False
            continue
        if tok.startswith("{"):
            sm = _SLOT.fullmatch(tok)
            if sm is None:
                raise TemplateError(
                    f"bad slot {tok!r} in {template!r} (use {{name}} or {{name:type}})"
                )
            name, kind = sm.group(1), sm.group(2) or "str"
            if kind not in _SLOT_PATTERNS:
                known = ", ".join(sorted(_SLOT_PATTERNS))
                raise TemplateError(f"unknown slot type {kind!r} in {template!r} (known: {known})")
            if name in slots:
                raise TemplateError(f"slot {name!r} appears twice in {template!r}")
            slots[name] = kind
            parts.append(f"(?P<{name}>{_SLOT_PATTERNS[kind]})")
            prev_word = False
        elif tok.startswith("["):
            body = tok[1:-1]
            if prev_word and body.isalpha() and parts:
                # "minute[s]": an optional ending of the word before.
                parts[-1] = parts[-1][:-1] + f"(?:{re.escape(body.lower())})? "
            else:
                parts.append(
                    "(?:" + "|".join(_seq(a) for a in _alternatives(body, template)) + ")?"
                )
            prev_word = False
        elif tok.startswith("("):
            alts = _alternatives(tok[1:-1], template)
            parts.append("(?:" + "|".join(_seq(a) for a in alts) + ")")
            literals += min(len(a) for a in alts)
            prev_word = False
        elif tok in "[](){}" or not words(tok):
            if tok in "[](){}":
                raise TemplateError(f"unbalanced {tok!r} in {template!r}")
            prev_word = False  # punctuation in a template is ignored, like in speech
        else:
            ws = words(tok)
            parts.append(_seq(ws))
            literals += len(ws)
            prev_word = True
    if not parts:
        raise TemplateError(f"template {template!r} has no words")
    try:
        pattern = re.compile("".join(parts))
    except re.error as exc:  # pragma: no cover - our own construction
        raise TemplateError(f"cannot compile {template!r}: {exc}") from None
    return CompiledTemplate(template, pattern, slots, literals)


def compile_regex(expr: str) -> CompiledTemplate:
    try:
        pattern = re.compile(expr)
    except re.error as exc:
        raise TemplateError(f"bad regex {expr!r}: {exc}") from None
    return CompiledTemplate(expr, pattern, dict.fromkeys(pattern.groupindex, "str"), 0, True)


@dataclass(frozen=True)
class TemplateMatch:
    template: CompiledTemplate
    slots: dict[str, Any]
    specificity: tuple[int, int]


def match_template(t: CompiledTemplate, text_words: Sequence[str]) -> TemplateMatch | None:
    """Match the whole command text; convert slots; None when it does not fit."""
    if t.is_regex:
        m = t.pattern.fullmatch(" ".join(text_words))
        if m is None:
            return None
        return TemplateMatch(t, {k: v for k, v in m.groupdict().items() if v is not None}, (0, 0))
    m = t.pattern.fullmatch(" ".join(text_words) + " ")
    if m is None:
        return None
    slots: dict[str, Any] = {}
    slot_words = 0
    for name, kind in t.slots.items():
        value = m.group(name)
        if value is None:
            continue
        ws = value.split()
        slot_words += len(ws)
        converted = _CONVERTERS[kind](ws)
        if converted is None:
            return None
        slots[name] = converted
    return TemplateMatch(t, slots, (t.literals, -slot_words))
