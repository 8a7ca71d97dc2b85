"""Desktop notifications: "notify me {text}", "remind me to {text} in {duration}",
"remind me at {time} to {text}", "remind me tomorrow at {time} to {text}".

Settings (``plugins.settings.notify``): ``hour_format``: 24 (default) or 12, for the time
a reminder is set for, as the clock plugin's.

Uses ``notify-send`` (libnotify) when it is installed; otherwise the text is said (printed,
logged, spoken when speech is on). Arguments are passed as a list, never through a shell.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime

from agent.plugin import Context, command
from agent.timeofday import TimeOfDay, clock_text, day_from_text


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
    ctx.later(duration, _notify, ctx, f"Reminder: {text}")
    return f"I will remind you to {text}"


CHECK_EVERY_S = 60.0
"""A reminder at a time of day looks at the wall clock at least this often. The event
loop's clock stops while the machine sleeps, so one long wait for "Friday at 5 pm" set
before a night's suspend would come that night late; checking the clock again each minute
brings it at the time on the clock (within a minute of waking)."""


async def _remind_at(ctx: Context, at: datetime, text: str) -> None:
    left = (at - datetime.now().astimezone()).total_seconds()
    if left > 0:
        ctx.later(min(left, CHECK_EVERY_S), _remind_at, ctx, at, text)
    else:
        await _notify(ctx, f"Reminder: {text}")


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
    await _remind_at(ctx, at, text)
    clock = clock_text(at, ctx.settings.get("hour_format"))
    return f"I will remind you to {text} at {clock}{_day(at, now)}"
