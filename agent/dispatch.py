"""Dispatch: run a matched handler in isolation and report what happened.

``async def`` handlers run on the loop under a timeout and are cancelled when it passes;
plain ``def`` handlers run in a small thread pool of their own (never the transcription
thread). A handler that raises or times out is logged with its plugin and command name and
reported as a ``command_error`` event; the agent keeps listening either way.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent import events
from agent.loader import Match
from agent.plugin import Context, Timings


class Dispatcher:
    def __init__(
        self,
        settings: Mapping[str, Mapping[str, Any]],
        timeout_s: float,
        emit: Callable[[events.Event], None],
        log: Any,
    ) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.emit = emit
        self.log = log
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="plugin")
        self._tasks: set[asyncio.Task[None]] = set()
        self.commands = 0
        """Handlers started."""
        self.errors = 0
        """Handlers that raised or timed out."""

    def context(self, match: Match, text: str, raw: str, timings: Timings | None) -> Context:
        plugin = match.command.plugin

        def say(message: str) -> None:
            self.emit(events.Say(str(message), plugin))
            self.log.info(f"[{plugin}] says: {message}")

        return Context(
            text=text,
            raw=raw,
            slots=dict(match.slots),
            plugin=plugin,
            command=match.command.name,
            settings=dict(self.settings.get(plugin, {})),
            timings=timings,
            log=self.log,
            _say=say,
        )

    def dispatch(self, match: Match, ctx: Context, follow_up: bool = False) -> asyncio.Task[None]:
        """Start the handler as a task; its outcome is reported as an event."""
        task = asyncio.get_running_loop().create_task(self._run(match, ctx, follow_up))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def run_now(self, match: Match, ctx: Context) -> Any:
        """Run the handler and return its reply (raises what it raises); for ``voiceflow try``."""
        return await self._call(match, ctx)

    async def _call(self, match: Match, ctx: Context) -> Any:
        cmd = match.command
        if cmd.is_async:
            return await asyncio.wait_for(cmd.handler(ctx, **match.slots), self.timeout_s)
        loop = asyncio.get_running_loop()
        call = functools.partial(cmd.handler, ctx, **match.slots)
        return await asyncio.wait_for(loop.run_in_executor(self._pool, call), self.timeout_s)

    async def _run(self, match: Match, ctx: Context, follow_up: bool) -> None:
        cmd = match.command
        started = time.monotonic()
        latency_ms = (
            (started - ctx.timings.speech_end_at) * 1000.0 if ctx.timings is not None else 0.0
        )
        self.commands += 1
        try:
            reply = await self._call(match, ctx)
        except asyncio.CancelledError:
            self.errors += 1
            self.emit(events.CommandError(cmd.plugin, cmd.name, "cancelled at shutdown"))
            raise
        except TimeoutError:
            self.errors += 1
            message = f"timed out after {self.timeout_s:g} s"
            self.log.error(f"plugin {cmd.plugin}.{cmd.name}: {message}")
            self.emit(events.CommandError(cmd.plugin, cmd.name, message))
            return
        except Exception as exc:
            self.errors += 1
            message = f"{type(exc).__name__}: {exc}"
            self.log.error(f"plugin {cmd.plugin}.{cmd.name} raised {message}")
            self.emit(events.CommandError(cmd.plugin, cmd.name, message))
            return
        handler_ms = (time.monotonic() - started) * 1000.0
        text = None if reply is None else str(reply)
        self.log.info(
            f"command {cmd.plugin}.{cmd.name} slots={match.slots} reply={text!r} "
            f"latency={latency_ms:.0f} ms"
        )
        self.emit(
            events.Command(
                cmd.plugin,
                cmd.name,
                dict(match.slots),
                text,
                round(latency_ms, 1),
                round(handler_ms, 1),
                follow_up,
            )
        )

    async def drain(self, grace_s: float) -> None:
        """Let running handlers finish for up to ``grace_s``, then cancel the rest."""
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
