"""Reloading plugins (and config) while audio capture keeps running.

``reload_plugins`` loads everything again and keeps the previous version of any plugin
that fails to load now (its file still there), so a typo saved mid-edit never takes a
working command away. ``PluginWatcher`` notices changed plugin files by polling their
modification times every couple of seconds: a few ``stat`` calls, no extra dependency,
and nothing to do between checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from agent.config import Config
from agent.loader import Registry, load_plugins, resolve_dirs

POLL_S = 2.0


def reload_plugins(old: Registry, config: Config) -> tuple[Registry, list[str]]:
    """The new registry, and the names of plugins kept at their old version."""
    new = load_plugins(config.plugins.dirs, config.plugins.settings, config.plugins.entry_points)
    kept: list[str] = []
    for name in old.plugins:
        if name in new.plugins:
            continue
        origin = old.sources.get(name, "")
        still_there = not origin.endswith(".py") or Path(origin).exists()
        failed_now = any(origin and e.startswith(origin) for e in new.errors)
        if still_there and failed_now:
            kept.append(name)
    if not kept:
        return new, kept
    carried = tuple(c for c in old.commands if c.plugin in kept)
    return (
        Registry(
            new.commands + carried,
            new.plugins + tuple(kept),
            new.errors,
            {**new.sources, **{k: old.sources[k] for k in kept}},
        ),
        kept,
    )


def plugin_files_signature(dirs: tuple[str, ...]) -> tuple[tuple[str, int, int], ...]:
    sig = []
    for d in resolve_dirs(dirs):
        if not d.is_dir():
            continue
        for p in d.glob("*.py"):
            try:
                st = p.stat()
            except OSError:
                continue
            sig.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(sorted(sig))


class PluginWatcher:
    """Calls ``on_change`` when a ``*.py`` file in the plugin directories changes."""

    def __init__(
        self, dirs: Callable[[], tuple[str, ...]], on_change: Callable[[], Awaitable[object]]
    ) -> None:
        self._dirs = dirs
        self._on_change = on_change

    async def run(self, poll_s: float = POLL_S) -> None:
        loop = asyncio.get_running_loop()
        last = await loop.run_in_executor(None, plugin_files_signature, self._dirs())
        while True:
            await asyncio.sleep(poll_s)
            now = await loop.run_in_executor(None, plugin_files_signature, self._dirs())
            if now != last:
                last = now
                await self._on_change()
