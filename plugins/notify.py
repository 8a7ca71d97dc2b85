"""Desktop notifications: "notify me {text}", "remind me to {text} in {duration}",
"remind me at {time} to {text}".

Uses ``notify-send`` (libnotify) when it is installed; otherwise the text is said (printed,
logged, spoken when speech is on). Arguments are passed as a list, never through a shell.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime

from agent.plugin import Context, command
from agent.timeofday import TimeOfDay


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


@command(
    "remind me to {text} at {when:time}",
    "remind me at {when:time} to {text}",
    "at {when:time} remind me to {text}",
)
async def remind_at(ctx: Context, text: str, when: TimeOfDay) -> str:
    now = datetime.now().astimezone()
    at = when.next_after(now)
    ctx.later((at - now).total_seconds(), _notify, ctx, f"Reminder: {text}")
    day = "" if at.date() == now.date() else " tomorrow"
    return f"I will remind you to {text} at {at:%H:%M}{day}"
