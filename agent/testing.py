"""Helpers for testing a plugin in three lines (with pytest-asyncio):

    from agent.testing import PluginTester

    async def test_timer():
        result = await PluginTester("plugins/timer.py").say("set a timer for five minutes")
        assert result.reply == "Timer set for 5 minutes"

``say`` runs the same matching as the agent (a leading wake phrase is stripped), calls the
handler under the same isolation and timeout, and collects what it said. Timers it sets
with ``ctx.later`` really run; ``wait`` lets them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import events
from agent.config import WakeConfig
from agent.dispatch import Dispatcher
from agent.loader import Registry, load_plugin_file
from agent.text import words
from agent.wake import WakeMatcher


@dataclass
class Result:
    command: str | None
    """``plugin.handler`` that ran, or None when nothing matched."""
    slots: dict[str, Any] = field(default_factory=dict)
    reply: Any = None
    score: float = 0.0
    error: str | None = None
    """The exception the handler raised (or a timeout), as text."""


class _ListLog:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def _add(self, msg: Any) -> None:
        self.lines.append(str(msg))

    debug = info = warning = error = exception = _add


class PluginTester:
    def __init__(
        self,
        plugin: str | Path | Registry,
        settings: Mapping[str, Any] | None = None,
        timeout_s: float = 10.0,
        threshold: float = 80.0,
    ) -> None:
        if isinstance(plugin, Registry):
            self.registry = plugin
        else:
            self.registry = load_plugin_file(plugin, settings)
            if self.registry.errors:
                raise ValueError("; ".join(self.registry.errors))
        self.said: list[str] = []
        """Everything handlers and their timers said, in order."""
        self.log: list[str] = []
        name = self.registry.plugins[0] if self.registry.plugins else ""
        self.threshold = threshold
        self._wake = WakeMatcher(WakeConfig().phrases)
        self.dispatcher = Dispatcher(
            {name: dict(settings or {})}, timeout_s, self._event, _ListLog(self.log)
        )

    def _event(self, event: events.Event) -> None:
        if isinstance(event, events.Say):
            self.said.append(event.text)

    async def say(self, text: str) -> Result:
        ws = words(text)
        wake = self._wake.match(ws)
        if wake is not None:
            ws = wake.command
        best = self.registry.match(ws, self.threshold).best
        if best is None:
            return Result(None)
        ctx = self.dispatcher.context(best, " ".join(ws), text, None)
        result = Result(f"{best.command.plugin}.{best.command.name}", best.slots, score=best.score)
        try:
            result.reply = await self.dispatcher.call(best, ctx)
        except TimeoutError:
            result.error = f"timed out after {self.dispatcher.timeout_s:g} s"
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        return result

    def known(self, command: str) -> dict[str, list[str]]:
        """What the plugin says the free-text slots of its ``command`` (the handler's name)
        may be now (``command(known=...)``), as the agent would ask it."""
        found = [c for c in self.registry.commands if c.name == command]
        if not found:
            raise KeyError(f"no command {command!r}")
        return self.dispatcher.known(found[0])

    async def wait(self, seconds: float) -> None:
        """Let timers run for ``seconds`` of real time."""
        await asyncio.sleep(seconds)

    async def close(self) -> None:
        await self.dispatcher.drain(grace_s=1.0)
