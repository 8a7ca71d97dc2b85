"""Dispatch: run a matched handler in isolation and report what happened.

``async def`` handlers run on the loop under a timeout and are cancelled when it passes;
plain ``def`` handlers run in a small thread pool of their own (never the transcription
thread; a sync handler that overruns is reported, but a thread cannot be killed, so it
keeps its pool thread until it returns). A handler that raises or times out is logged with
its plugin and command name and reported as a ``command_error`` event; the agent keeps
listening either way. Timers made with ``ctx.later`` run here too, isolated the same way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent import events
from agent.loader import Command, Match
from agent.plugin import Context, Later, Timings
from agent.ratelimit import RateLimiter
from agent.speech import Speaker
from agent.text import words

SAY_BURST = 10
"""Things a plugin may say at once."""
SAY_RATE = 2.0
"""Things a plugin may say per second after a burst."""
KNOWN_MAX = 8
"""Values of one slot a plugin may name as known (``Dispatcher.known``); the first are kept."""


class Dispatcher:
    def __init__(
        self,
        settings: Mapping[str, Mapping[str, Any]],
        timeout_s: float,
        emit: Callable[[events.Event], None],
        log: Any,
        speaker: Speaker | None = None,
    ) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.emit = emit
        self.log = log
        self.speaker = speaker
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="plugin")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running_async: dict[int, tuple[str, float]] = {}
        self._ran_async: deque[tuple[str, float, float]] = deque(maxlen=32)
        self._timers: set[Later] = set()
        self._state: dict[str, dict[str, Any]] = {}
        self._say_limits: dict[str, RateLimiter] = {}
        self._spamming: set[str] = set()
        self._threads_lock = threading.Lock()
        self.threads_busy = 0
        """Plain ``def`` handlers (and timers) running in the plugin pool right now."""
        self.said_dropped = 0
        """``ctx.say`` calls dropped because a plugin said too much too fast."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self.commands = 0
        """Handlers started."""
        self.errors = 0
        """Handlers (and timers) that raised or timed out."""

    # ------------------------------------------------------------------ context
    def _on_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn`` on the event loop: directly there, or from a handler's thread by
        handing it over and waiting for the result."""
        loop = self._loop
        if loop is None or self._loop_thread == threading.get_ident():
            return fn(*args)
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(fn(*args))
            except BaseException as exc:
                result.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return result.result(timeout=10)

    def context(self, match: Match, text: str, raw: str, timings: Timings | None) -> Context:
        plugin = match.command.plugin
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
        return Context(
            text=text,
            raw=raw,
            slots=dict(match.slots),
            plugin=plugin,
            command=match.command.name,
            settings=dict(self.settings.get(plugin, {})),
            timings=timings,
            log=PluginLog(self.log, plugin, self._on_loop),
            state=self._state.setdefault(plugin, {}),
            _say=functools.partial(self._on_loop, self.say, plugin),
            _later=functools.partial(self._on_loop, self.later, plugin),
        )

    def known(self, command: Command) -> dict[str, list[str]]:
        """The values ``command``'s free-text slots may take now, by the plugin's own
        account (``command(known=...)``, a function of its state), as words: at most
        ``KNOWN_MAX`` a slot. On the loop. A function that raises is logged and names none."""
        out: dict[str, list[str]] = {}
        for slot, values in command.known:
            try:
                state = self._state.setdefault(command.plugin, {})
                found = [" ".join(words(str(v))) for v in values(state)]
            except Exception as exc:
                self.log.error(
                    f"plugin {command.plugin}.{command.name}: known {slot!r}: "
                    f"{type(exc).__name__}: {exc}"
                )
                continue
            kept = [v for v in dict.fromkeys(found) if v][:KNOWN_MAX]
            if kept:
                out[slot] = kept
        return out

    def say(self, plugin: str, message: str) -> None:
        """Print, log and speak ``message``. Each plugin may say ``SAY_BURST`` things at once
        and ``SAY_RATE`` a second after that; the rest is dropped, counted and logged once
        per burst, so a runaway plugin cannot flood the output, the log or the speaker."""
        limit = self._say_limits.get(plugin)
        if limit is None:
            limit = self._say_limits[plugin] = RateLimiter(SAY_RATE, SAY_BURST)
        if not limit.take():
            self.said_dropped += 1
            if plugin not in self._spamming:
                self._spamming.add(plugin)
                self.log.warning(f"plugin {plugin} says too much; dropping what it says")
            return
        self._spamming.discard(plugin)
        message = str(message)
        self.emit(events.Say(message, plugin))
        self.log.info(f"[{plugin}] says: {message}")
        if self.speaker is not None:
            self.speaker.say(message)

    def later(self, plugin: str, seconds: float, fn: Callable[..., Any], *args: Any) -> Later:
        """Run ``fn(*args)`` after ``seconds``; sync or async; survives other commands."""
        loop = asyncio.get_running_loop()
        name = getattr(fn, "__name__", "callback")
        holder: list[Later] = []

        def fire() -> None:
            self._timers.discard(holder[0])
            task = loop.create_task(self._guard(plugin, f"timer {name}", self._invoke(fn, args)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        handle = loop.call_later(max(0.0, float(seconds)), fire)
        later = Later(
            handle, loop.time() + max(0.0, float(seconds)), loop.time, self._timers.discard
        )
        holder.append(later)
        self._timers.add(later)
        return later

    async def _invoke(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if inspect.iscoroutinefunction(fn):
            return await asyncio.wait_for(fn(*args), self.timeout_s)
        if isinstance(getattr(fn, "__self__", None), Context):
            return fn(*args)  # ctx.say and friends: cheap, and meant for the loop
        return await asyncio.wait_for(self._in_thread(fn, *args), self.timeout_s)

    async def _guard(self, plugin: str, what: str, work: Any) -> Any:
        try:
            return await work
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            self.errors += 1
            message = f"timed out after {self.timeout_s:g} s"
        except Exception as exc:
            self.errors += 1
            message = f"{type(exc).__name__}: {exc}"
        self.log.error(f"plugin {plugin}.{what}: {message}")
        self.emit(events.CommandError(plugin, what, message))
        return None

    # ------------------------------------------------------------------ commands
    def dispatch(self, match: Match, ctx: Context, follow_up: bool = False) -> asyncio.Task[None]:
        """Start the handler as a task; its outcome is reported as an event."""
        task = asyncio.get_running_loop().create_task(self._run(match, ctx, follow_up))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def call(self, match: Match, ctx: Context) -> Any:
        """Run the handler under the timeout and return its reply; raises what it raises."""
        cmd = match.command
        if cmd.is_async:
            return await asyncio.wait_for(cmd.handler(ctx, **match.slots), self.timeout_s)
        call = functools.partial(cmd.handler, ctx, **match.slots)
        return await asyncio.wait_for(self._in_thread(call), self.timeout_s)

    def _in_thread(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run a plain ``def`` in the plugin pool, counting it while it runs (a thread that
        overran its timeout keeps running: see ``stuck``)."""

        def run() -> Any:
            with self._threads_lock:
                self.threads_busy += 1
            try:
                return fn(*args)
            finally:
                with self._threads_lock:
                    self.threads_busy -= 1

        return asyncio.get_running_loop().run_in_executor(self._pool, run)

    def async_handlers_between(self, start: float, end: float) -> list[str]:
        """``plugin.command`` of the async handlers (they share the loop) that ran at some
        time between ``start`` and ``end`` (``time.monotonic()``)."""
        names = {name for name, t0 in self._running_async.values() if t0 <= end}
        names.update(name for name, t0, t1 in self._ran_async if t0 <= end and t1 >= start)
        return sorted(names)

    async def _run(self, match: Match, ctx: Context, follow_up: bool) -> None:
        cmd = match.command
        if not cmd.is_async:
            await self._run_handler(match, ctx, follow_up)
            return
        key, name, started = id(ctx), f"{cmd.plugin}.{cmd.name}", time.monotonic()
        self._running_async[key] = (name, started)
        try:
            await self._run_handler(match, ctx, follow_up)
        finally:
            del self._running_async[key]
            self._ran_async.append((name, started, time.monotonic()))

    async def _run_handler(self, match: Match, ctx: Context, follow_up: bool) -> None:
        cmd = match.command
        started = time.monotonic()
        latency_ms = (
            (started - ctx.timings.speech_end_at) * 1000.0 if ctx.timings is not None else 0.0
        )
        self.commands += 1
        try:
            reply = await self.call(match, ctx)
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
        if text and self.speaker is not None:
            self.speaker.say(text)

    async def drain(self, grace_s: float) -> None:
        """Let running handlers finish for up to ``grace_s``, then cancel the rest. Timers
        not yet due are cancelled (and logged) after that: a handler started just before
        the end ("cancel the pasta timer" as a file ends) still finds the timers as they
        were."""
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._timers:
            self.log.info(f"cancelling {len(self._timers)} pending timer(s) at shutdown")
            for later in list(self._timers):
                later.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.threads_busy:
            self.log.error(
                f"{self.threads_busy} plain def handler(s) still running after the grace "
                "period; a thread cannot be stopped, so the agent exits without waiting"
            )

    @property
    def stuck(self) -> bool:
        """A handler thread is still running (after ``drain``: the process must not wait
        for it at exit, or a handler that hangs forever would hang the shutdown)."""
        return self.threads_busy > 0


class PluginLog:
    """The logger a handler gets as ``ctx.log``: prefixed with the plugin's name, and safe to
    call from a plain ``def`` handler's thread."""

    def __init__(self, log: Any, plugin: str, on_loop: Callable[..., Any]) -> None:
        self._log = log
        self._prefix = f"[{plugin}] "
        self._on_loop = on_loop

    def _emit(self, level: str, msg: Any) -> None:
        line = self._prefix + str(msg)

        def log() -> None:
            getattr(self._log, level)(line)

        self._on_loop(log)

    def debug(self, msg: Any) -> None:
        self._emit("debug", msg)

    def info(self, msg: Any) -> None:
        self._emit("info", msg)

    def warning(self, msg: Any) -> None:
        self._emit("warning", msg)

    def error(self, msg: Any) -> None:
        self._emit("error", msg)
