"""Timers: set, cancel and list, by name.

"set a timer for five minutes", "start a 10 minute timer", "set a pasta timer for
eight minutes", "set a timer for ninety seconds", "cancel the pasta timer",
"cancel that timer", "turn off the timer", "clear all timers", "list my timers", "how much
time is left", "are there any timers running".
"""

from __future__ import annotations

from typing import Any

from agent.numbers import parse_duration
from agent.plugin import Context, Later, command
from agent.text import words


def _spoken(seconds: float) -> str:
    seconds = round(seconds)
    parts = []
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    return " and ".join(parts) or "0 seconds"


def _timers(ctx: Context) -> dict[str, Later]:
    return _running(ctx.state)


def _running(state: dict[str, Any]) -> dict[str, Later]:
    """The plugin's timers, those that came or were cancelled dropped."""
    timers: dict[str, Later] = state.setdefault("timers", {})
    for name in [n for n, t in timers.items() if t.remaining <= 0 or t.cancelled]:
        del timers[name]
    return timers


def _key(label: str) -> str | float:
    """What a timer is called, as compared: its length for one named by it ("5 minutes",
    "five minute" and "5 minute" are one), otherwise its words."""
    ws = words(label)
    seconds = parse_duration(ws)
    return seconds if seconds is not None else " ".join(ws)


def _names(state: dict[str, Any]) -> list[str]:
    """The running timers as they are said before "timer": "pasta", "5 minute" (the
    ``known`` names of ``cancel_timer``, by which the audio may settle a misheard one)."""
    names = []
    for label in _running(state):
        if " and " in label:
            continue
        if isinstance(_key(label), float) and label.endswith("s"):
            label = label[:-1]  # "cancel the 5 minute timer"
        names.append(label)
    return names


def _start(ctx: Context, seconds: float, name: str | None) -> str:
    timers = _timers(ctx)
    label = name or _spoken(seconds)
    if label in timers:
        timers.pop(label).cancel()
    timers[label] = ctx.later(seconds, ctx.say, f"{label} timer done")
    return f"Timer set for {_spoken(seconds)}" + (f", called {name}" if name else "")


@command(
    "set a timer for {minutes:int} minute[s]",
    "(start|set) a {minutes:int} minute timer",
)
async def set_timer(ctx: Context, minutes: int) -> str:
    return _start(ctx, minutes * 60, None)


@command(
    "set a timer for {duration:duration}",
    "start a timer for {duration:duration}",
    "(start|set) a {duration:duration} timer",
    "timer [for] {duration:duration}",
)
async def set_timer_duration(ctx: Context, duration: float) -> str:
    return _start(ctx, duration, None)


@command(
    "set a {name} timer for {duration:duration}",
    "set a timer (called|named|for) {name} for {duration:duration}",
    "start a {name} timer for {duration:duration}",
)
async def set_named_timer(ctx: Context, name: str, duration: float) -> str:
    return _start(ctx, duration, name)


@command(
    "(cancel|stop|turn off|delete) [the|my|that|this] {name} timer",
    known={"name": _names},
)
async def cancel_timer(ctx: Context, name: str) -> str:
    timers = _timers(ctx)
    wanted = (_key(name), _key(f"{name} minutes"))  # "the 5 timer" too
    for label in list(timers):
        if _key(label) in wanted:
            timers.pop(label).cancel()
            return f"Cancelled the {label} timer"
    return f"There is no {name} timer"


@command(
    "(cancel|stop|turn off|delete|clear) [the|my|that|this] timer",
    "(cancel|stop|turn off|delete|clear) all [the|my] timer[s]",
    "(cancel|stop|delete|clear) [the|my] timers",
)
async def cancel_all(ctx: Context) -> str:
    timers = _timers(ctx)
    if not timers:
        return "There are no timers"
    for t in timers.values():
        t.cancel()
    n = len(timers)
    timers.clear()
    return f"Cancelled {n} timer{'s' if n != 1 else ''}"


@command(
    "(list|show) [the|my|all] timers",
    "what timers are (running|set)",
    "how much time is left",
    "how long is left",
    "how (much time|long) is left on [the|my] timer[s]",
    "[are there] any timers (running|set)",
)
async def list_timers(ctx: Context) -> str:
    timers = _timers(ctx)
    if not timers:
        return "There are no timers"
    return "; ".join(f"{label}: {_spoken(t.remaining)} left" for label, t in timers.items())
