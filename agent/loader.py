"""Plugin loading: find decorated handlers in plugin files and compile their templates.

A plugin is one ``.py`` file in a configured directory; its name is the file name. A file
that fails to import, a template that does not compile, or a handler whose parameters do
not fit its slots is rejected with a message naming the file, line and template; the other
plugins still load.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from agent.config import BUNDLED
from agent.matching import (
    CompiledTemplate,
    TemplateError,
    TemplateMatch,
    compile_regex,
    compile_template,
    loose_score,
    match_template,
)
from agent.plugin import ATTR, CommandSpec, Known, ProvidedCommand


@dataclass(frozen=True)
class Command:
    plugin: str
    """Plugin name (file name without ``.py``)."""
    name: str
    """Handler function name."""
    handler: Callable[..., Any]
    templates: tuple[CompiledTemplate, ...]
    is_async: bool
    where: str
    """``file:line`` of the handler."""
    known: tuple[tuple[str, Known], ...] = ()
    """Free-text slots whose present values the plugin knows (``command(known=...)``)."""


@dataclass(frozen=True)
class Match:
    command: Command
    slots: dict[str, Any]
    template: str
    score: float
    """100 for an exact template match, lower for a fuzzy one."""
    specificity: tuple[int, int]
    open_end: bool = False
    """The template ends in a slot (``CompiledTemplate.open_end``)."""

    @property
    def key(self) -> tuple[float, tuple[int, int]]:
        return (self.score, self.specificity)


@dataclass(frozen=True)
class Ranking:
    best: Match | None
    """The command to run: the top candidate if it reaches the threshold."""
    candidates: tuple[Match, ...]
    """Every command that matched at all, best first (one entry per command)."""
    ambiguous: bool
    """The runner-up, from another command, scored within ``AMBIGUITY_MARGIN`` of the best."""

    @property
    def runner_up(self) -> Match | None:
        return self.candidates[1] if len(self.candidates) > 1 else None


SPECIFIC_SCORE = 90.0
"""A fuzzy match this close, with more literal words, beats an exact one of the same command."""


def _better(m: Match, than: Match) -> bool:
    """Whether ``m`` is a better template match than ``than`` for the same command."""
    if m.specificity[0] > than.specificity[0] and m.score >= SPECIFIC_SCORE:
        return True
    if than.specificity[0] > m.specificity[0] and than.score >= SPECIFIC_SCORE:
        return False
    return m.key > than.key


AMBIGUITY_MARGIN = 2.0
"""Score points within which two different commands count as a near-tie."""


@dataclass(frozen=True)
class Registry:
    commands: tuple[Command, ...]
    plugins: tuple[str, ...]
    """Names of the plugins that loaded."""
    errors: tuple[str, ...]
    """One line per plugin, template or handler that was rejected."""
    sources: dict[str, str] = field(default_factory=dict)
    """Plugin name -> where it came from (a file path or ``entry point NAME``)."""

    def rank(self, text_words: Sequence[str]) -> list[Match]:
        """Every matching command's best template, best first; ties keep load order.

        Within one command, a close fuzzy match (``SPECIFIC_SCORE``) of a template with more
        literal words beats an exact match of a looser one: "repeat after meet the rain" is
        "repeat after me {text}" with a slip, not "repeat {text}" = "after meet the rain".
        """
        found: list[Match] = []
        for cmd in self.commands:
            best: Match | None = None
            for t in cmd.templates:
                tm: TemplateMatch | None = match_template(t, text_words)
                if tm is None:
                    continue
                m = Match(cmd, tm.slots, t.source, tm.score, tm.specificity, t.open_end)
                if best is None or _better(m, best):
                    best = m
            if best is not None:
                found.append(best)
        found.sort(key=lambda m: m.key, reverse=True)  # stable: load order breaks ties
        return found

    def match(
        self, text_words: Sequence[str], threshold: float = 80.0, loose: bool = True
    ) -> Ranking:
        """The best template match; failing that, if ``loose``, the ``loose`` one."""
        ranked = self.rank(text_words)
        best = ranked[0] if ranked and ranked[0].score >= threshold else None
        if best is None and loose:
            near = self.loose(text_words, threshold)
            if near is not None:
                return Ranking(near, (near, *ranked), False)
        ambiguous = (
            best is not None
            and len(ranked) > 1
            and best.score - ranked[1].score < AMBIGUITY_MARGIN
            and best.specificity == ranked[1].specificity
        )
        return Ranking(best, tuple(ranked), ambiguous)

    def loose(self, text_words: Sequence[str], threshold: float) -> Match | None:
        """When no template matched: the slot-less command whose phrases are closest to the
        text as a whole string (``matching.loose_score``), if it reaches ``threshold`` and is
        ``LOOSE_MARGIN`` ahead of any other command. Measured on eval/manifest.yaml: 12 of 192
        spoken commands more right, none wrong (docs/ACCURACY.md)."""
        scored: list[tuple[float, Command, str]] = []
        for cmd in self.commands:
            best = max(
                ((loose_score(t, text_words), t.source) for t in cmd.templates), default=(0, "")
            )
            if best[0] > 0:
                scored.append((best[0], cmd, best[1]))
        scored.sort(key=lambda x: -x[0])
        if not scored or scored[0][0] < threshold:
            return None
        if len(scored) > 1 and scored[0][0] - scored[1][0] < LOOSE_MARGIN:
            return None
        score, cmd, template = scored[0]
        return Match(cmd, {}, template, round(score, 1), (0, 0))


LOOSE_MARGIN = 5.0
"""A loose match must beat every other command's loose score by this much."""


def bundled_plugins_dir() -> Path:
    spec = importlib.util.find_spec("voiceflow_plugins")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - packaging bug
        raise RuntimeError("the bundled plugins package voiceflow_plugins is missing")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_dirs(dirs: Iterable[str]) -> list[Path]:
    return [bundled_plugins_dir() if d == BUNDLED else Path(d).expanduser() for d in dirs]


ENTRY_POINT_GROUP = "voiceflow.plugins"
"""Installed packages provide plugins as entry points in this group, naming a module."""


def load_plugins(
    dirs: Iterable[str],
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    entry_points: bool = True,
) -> Registry:
    """Load every plugin file in ``dirs``, then every ``voiceflow.plugins`` entry point.

    ``settings`` are the per-plugin config sections, handed to a module's
    ``provide_commands(settings)`` if it has one.
    """
    settings = settings or {}
    commands: list[Command] = []
    plugins: list[str] = []
    errors: list[str] = []
    sources: dict[str, str] = {}

    def add(name: str, module: ModuleType, origin: str, path: Path) -> None:
        found, errs = _module_commands(name, module, path, settings.get(name, {}))
        errors.extend(errs)
        if found or not errs:
            plugins.append(name)
            sources[name] = origin
        commands.extend(found)

    for directory in resolve_dirs(dirs):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.py")):
            name = path.stem
            if name.startswith("_"):
                continue
            if name in sources:
                errors.append(f"{path}: plugin name {name!r} already loaded from {sources[name]}")
                continue
            try:
                module = _import(name, path)
            except Exception as exc:
                errors.append(f"{path}: failed to import: {_describe(exc, path)}")
                continue
            add(name, module, str(path), path)
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            origin = f"entry point {ep.name} ({ep.value})"
            if ep.name in sources:
                errors.append(f"{origin}: plugin name already loaded from {sources[ep.name]}")
                continue
            try:
                module = ep.load()
            except Exception as exc:
                errors.append(f"{origin}: failed to load: {type(exc).__name__}: {exc}")
                continue
            if not isinstance(module, ModuleType):
                errors.append(f"{origin}: must name a module, not {type(module).__name__}")
                continue
            add(ep.name, module, origin, Path(getattr(module, "__file__", None) or ep.value))
    return Registry(tuple(commands), tuple(plugins), tuple(errors), sources)


def load_plugin_file(path: str | Path, settings: Mapping[str, Any] | None = None) -> Registry:
    """One plugin file on its own (for tests and ``agent.testing``)."""
    path = Path(path)
    try:
        module = _import(path.stem, path)
    except Exception as exc:
        return Registry((), (), (f"{path}: failed to import: {_describe(exc, path)}",))
    found, errors = _module_commands(path.stem, module, path, settings or {})
    ok = (path.stem,) if found or not errors else ()
    return Registry(tuple(found), ok, tuple(errors), {path.stem: str(path)} if ok else {})


def _module_commands(
    plugin: str, module: ModuleType, path: Path, settings: Mapping[str, Any]
) -> tuple[list[Command], list[str]]:
    found, errors = _commands_of(plugin, module, path)
    more, errors2 = _provided_commands(plugin, module, path, settings)
    return found + more, errors + errors2


def _provided_commands(
    plugin: str, module: ModuleType, path: Path, settings: Mapping[str, Any]
) -> tuple[list[Command], list[str]]:
    """Commands a module builds from its settings with ``provide_commands(settings)``."""
    provide = getattr(module, "provide_commands", None)
    if provide is None:
        return [], []
    where = f"{path}: provide_commands"
    try:
        provided = list(provide(settings))
    except Exception as exc:
        return [], [f"{where}: {type(exc).__name__}: {exc}"]
    commands: list[Command] = []
    errors: list[str] = []
    for item in provided:
        if not isinstance(item, ProvidedCommand):
            errors.append(f"{where}: returned {item!r}, not a ProvidedCommand")
            continue
        compiled: list[CompiledTemplate] = []
        for source in item.templates:
            try:
                t = compile_template(source)
                _check_signature(item.handler, t)
            except TemplateError as exc:
                errors.append(f"{where}: {item.name}: template {source!r}: {exc}")
                continue
            compiled.append(t)
        if compiled:
            is_async = inspect.iscoroutinefunction(item.handler)
            commands.append(
                Command(plugin, item.name, item.handler, tuple(compiled), is_async, where)
            )
    return commands, errors


def _import(name: str, path: Path) -> ModuleType:
    module_name = f"voiceflow_loaded_plugins.{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError("not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _describe(exc: BaseException, path: Path) -> str:
    line = ""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = f" (line {tb.tb_lineno})"
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and exc.lineno:
        line = f" (line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}{line}"


def _commands_of(plugin: str, module: ModuleType, path: Path) -> tuple[list[Command], list[str]]:
    commands: list[Command] = []
    errors: list[str] = []
    for attr, fn in vars(module).items():
        specs: tuple[CommandSpec, ...] | None = getattr(fn, ATTR, None)
        if not specs or not callable(fn) or getattr(fn, "__module__", None) != module.__name__:
            continue
        try:
            line = inspect.getsourcelines(fn)[1]
        except (OSError, TypeError):
            line = 0
        where = f"{path}:{line}"
        compiled: list[CompiledTemplate] = []
        known: list[tuple[str, Known]] = []
        for spec in specs:
            sources: list[tuple[str, Callable[[str], CompiledTemplate]]] = [
                (t, compile_template) for t in spec.templates
            ]
            if spec.regex is not None:
                sources.append((spec.regex, compile_regex))
            for source, compiler in sources:
                try:
                    t = compiler(source)
                    _check_signature(fn, t)
                except TemplateError as exc:
                    errors.append(f"{where}: {attr}: template {source!r}: {exc}")
                    continue
                compiled.append(t)
            for slot, values in spec.known:
                if any(t.slots.get(slot) == "str" for t in compiled):
                    known.append((slot, values))
                else:
                    errors.append(f"{where}: {attr}: known: {slot!r} is no free-text slot")
        if compiled:
            is_async = inspect.iscoroutinefunction(fn)
            commands.append(
                Command(plugin, attr, fn, tuple(compiled), is_async, where, tuple(known))
            )
    return commands, errors


def _check_signature(fn: Callable[..., Any], t: CompiledTemplate) -> None:
    params = list(inspect.signature(fn).parameters.values())
    if not params or params[0].kind not in (
        params[0].POSITIONAL_ONLY,
        params[0].POSITIONAL_OR_KEYWORD,
    ):
        raise TemplateError("the handler's first parameter must take the Context")
    rest = params[1:]
    if any(p.kind is p.VAR_KEYWORD for p in rest):
        return
    names = {p.name for p in rest if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    extra = set(t.slots) - names
    if extra:
        raise TemplateError(f"slot(s) {', '.join(sorted(extra))} have no handler parameter")
    missing = {
        p.name for p in rest if p.default is p.empty and p.kind is not p.VAR_POSITIONAL
    } - set(t.slots)
    if missing:
        raise TemplateError(f"handler parameter(s) {', '.join(sorted(missing))} have no slot")
