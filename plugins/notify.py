"""Desktop notifications: "notify me {text}", "remind me to {text} in {duration}",
"remind me at {time} to {text}", "remind me tomorrow at {time} to {text}"; "what are my
reminders", "cancel the reminder to {text}" (the text, if misheard, settled among the
reminders set), "cancel my dentist reminder" (the one whose text has the words), "cancel all
reminders".

Settings (``plugins.settings.notify``): ``hour_format``: 24 (default) or 12, for the time
a reminder is set for, as the clock plugin's.

Uses ``notify-send`` (libnotify) when it is installed; otherwise the text is said (printed,
logged, spoken when speech is on). Arguments are passed as a list, never through a shell.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent.plugin import Context, Later, command
from agent.text import words
from agent.timeofday import TimeOfDay, clock_text, day_from_text


@dataclass(eq=False)
class _Reminder:
    """A reminder set and not yet come (kept in ``ctx.state["reminders"]``); two said alike
    are still two."""

    text: str
    at: datetime
    """When it is due, on the wall clock."""
    later: Later | None = None
    """The wait now pending (a reminder at a time of day renews it each minute)."""


def _reminders(ctx: Context) -> list[_Reminder]:
    kept: list[_Reminder] = ctx.state.setdefault("reminders", [])
    return kept


def _texts(state: dict[str, Any]) -> list[str]:
    """What the reminders set are for: the ``known`` texts of ``cancel_reminder``, by which
    the audio may settle a misheard one ("cancel the reminder to call an actor")."""
    return [r.text for r in state.get("reminders", [])]


async def _notify(ctx: Context, text: str) -> None:
    binary = shutil.which("notify-send")
    if binary is None:
        ctx.say(text)
        return
    proc = await asyncio.create_subprocess_exec(
        binary,
        "--app-name=VoiceFlow",
        "--",
        "VoiceFlow",
        text,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await proc.communicate()
    if proc.returncode != 0:
        ctx.log.warning(f"notify-send failed ({err.decode().strip()}); saying it instead")
        ctx.say(text)


@command("notify me [that] {text}", "send [me] a notification [that|saying] {text}")
async def notify_now(ctx: Context, text: str) -> str:
    await _notify(ctx, text)
    return f"Notified: {text}"


@command(
    "remind me to {text} in {duration:duration}",
    "remind me in {duration:duration} to {text}",
    "in {duration:duration} remind me to {text}",
)
async def remind(ctx: Context, text: str, duration: float) -> str:
    r = _Reminder(text, datetime.now().astimezone() + timedelta(seconds=duration))
    r.later = ctx.later(duration, _come, ctx, r)
    _reminders(ctx).append(r)
    return f"I will remind you to {text}"


async def _come(ctx: Context, r: _Reminder) -> None:
    if r in _reminders(ctx):
        _reminders(ctx).remove(r)
    await _notify(ctx, f"Reminder: {r.text}")


CHECK_EVERY_S = 60.0
"""A reminder at a time of day looks at the wall clock at least this often. The event
loop's clock stops while the machine sleeps, so one long wait for "Friday at 5 pm" set
before a night's suspend would come that night late; checking the clock again each minute
brings it at the time on the clock (within a minute of waking)."""


async def _remind_at(ctx: Context, r: _Reminder) -> None:
    left = (r.at - datetime.now().astimezone()).total_seconds()
    if left > 0:
        r.later = ctx.later(min(left, CHECK_EVERY_S), _remind_at, ctx, r)
    else:
        await _come(ctx, r)


def _day(at: datetime, now: datetime) -> str:
    """ "" today, " tomorrow", " on Friday", " on Sunday next week" (said on a Sunday)."""
    ahead = (at.date() - now.date()).days
    if ahead < 2:
        return " tomorrow" if ahead else ""
    return f" on {at:%A}" + (" next week" if ahead >= 7 else "")


@command(
    "remind me to {text} at {when:time}",
    "remind me at {when:time} to {text}",
    "at {when:time} remind me to {text}",
    # the day first: "remind me tomorrow at nine to ...". No "{when:time} remind me to":
    # tiny.en writes "remind" as "3 mind", which it matched as a reminder at three
    "remind me {when:time} to {text}",
)
async def remind_at(ctx: Context, text: str, when: TimeOfDay) -> str:
    text, when = day_from_text(text, when)  # "call mum tomorrow" at five
    now = datetime.now().astimezone()
    at = when.next_after(now)
    if at is None:
        return f"{when} has gone already; no reminder set"
    r = _Reminder(text, at)
    _reminders(ctx).append(r)
    await _remind_at(ctx, r)
    return f"I will remind you to {text} at {_when(ctx, at, now)}"


def _when(ctx: Context, at: datetime, now: datetime) -> str:
    """ "17:00", "5:00 PM tomorrow", "9:00 on Friday" (``hour_format``)."""
    return clock_text(at, ctx.settings.get("hour_format")) + _day(at, now)


@command(
    "(list|show) [me] [my|the|all] reminders",
    "what reminders do i have",
    "what are my reminders",
    "[do i have] any reminders",
)
async def list_reminders(ctx: Context) -> str:
    kept = sorted(_reminders(ctx), key=lambda r: r.at)
    if not kept:
        return "There are no reminders"
    now = datetime.now().astimezone()
    return "; ".join(f"{r.text} at {_when(ctx, r.at, now)}" for r in kept)


def _cancel(ctx: Context, r: _Reminder) -> None:
    if r.later is not None:
        r.later.cancel()
    _reminders(ctx).remove(r)


def _which(kept: list[_Reminder]) -> str:
    said = "; ".join(f"to {r.text}" for r in kept)
    return f"Which one? There are {len(kept)} reminders: {said}"


@command("(cancel|delete|remove) [the|my] reminder (to|about) {text}", known={"text": _texts})
async def cancel_reminder(ctx: Context, text: str) -> str:
    for r in _reminders(ctx):
        if words(r.text) == words(text):
            _cancel(ctx, r)
            return f"Cancelled the reminder to {r.text}"
    return f"There is no reminder to {text}"


@command("(cancel|delete|remove) [the|my] {what} reminder")
async def cancel_reminder_of(ctx: Context, what: str) -> str:
    """ "cancel my dentist reminder": the one reminder whose text has every word said
    ("go to the dentist"); with several, it asks which."""
    said = set(words(what))
    kept = [r for r in _reminders(ctx) if said <= set(words(r.text))]
    if len(kept) == 1:
        _cancel(ctx, kept[0])
        return f"Cancelled the reminder to {kept[0].text}"
    if not kept:
        return f"There is no {what} reminder"
    return _which(kept)


@command("(cancel|delete|remove) [the|my|that] reminder")
async def cancel_the_reminder(ctx: Context) -> str:
    kept = _reminders(ctx)
    if len(kept) == 1:
        r = kept[0]
        _cancel(ctx, r)
        return f"Cancelled the reminder to {r.text}"
    if not kept:
        return "There are no reminders"
    return _which(kept)


@command(
    "(cancel|delete|remove|clear) all [the|my] reminders",
    "(cancel|delete|remove|clear) [the|my] reminders",
)
async def cancel_all_reminders(ctx: Context) -> str:
    kept = list(_reminders(ctx))
    for r in kept:
        _cancel(ctx, r)
    n = len(kept)
    return f"Cancelled {n} reminder{'s' if n != 1 else ''}" if n else "There are no reminders"
