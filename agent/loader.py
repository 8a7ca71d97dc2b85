"""Plugin loading: find decorated handlers in plugin files and compile their templates.

A plugin is one ``.py`` file in a configured directory; its name is the file name. A file
that fails to import, a template that does not compile, or a handler whose parameters do
not fit its slots is rejected with a message naming the file, line and template; the other
plugins still load.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
    match_template,
)
from agent.plugin import ATTR, CommandSpec


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


@dataclass(frozen=True)
class Match:
    command: Command
    slots: dict[str, Any]
    template: str
    specificity: tuple[int, int]


@dataclass(frozen=True)
class Registry:
    commands: tuple[Command, ...]
    plugins: tuple[str, ...]
    """Names of the plugins that loaded."""
    errors: tuple[str, ...]
    """One line per plugin, template or handler that was rejected."""

    def match(self, text_words: Sequence[str]) -> Match | None:
        """The most specific command whose template matches the whole text."""
        best: Match | None = None
        for cmd in self.commands:
            for t in cmd.templates:
                tm: TemplateMatch | None = match_template(t, text_words)
                if tm is not None and (best is None or tm.specificity > best.specificity):
                    best = Match(cmd, tm.slots, t.source, tm.specificity)
        return best


def bundled_plugins_dir() -> Path:
    spec = importlib.util.find_spec("voiceflow_plugins")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - packaging bug
        raise RuntimeError("the bundled plugins package voiceflow_plugins is missing")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_dirs(dirs: Iterable[str]) -> list[Path]:
    return [bundled_plugins_dir() if d == BUNDLED else Path(d).expanduser() for d in dirs]


def load_plugins(dirs: Iterable[str]) -> Registry:
    commands: list[Command] = []
    plugins: list[str] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    for directory in resolve_dirs(dirs):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            name = path.stem
            if name in seen:
                errors.append(
                    f"{path}: plugin name {name!r} already loaded from {seen[name]}; skipped"
                )
                continue
            seen[name] = path
            try:
                module = _import(name, path)
            except Exception as exc:
                errors.append(f"{path}: failed to import: {_describe(exc, path)}")
                continue
            found, errs = _commands_of(name, module, path)
            errors.extend(errs)
            if found or not errs:
                plugins.append(name)
            commands.extend(found)
    return Registry(tuple(commands), tuple(plugins), tuple(errors))


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
        for spec in specs:
            sources = [(t, compile_template) for t in spec.templates]
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
        if compiled:
            commands.append(
                Command(plugin, attr, fn, tuple(compiled), inspect.iscoroutinefunction(fn), where)
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
