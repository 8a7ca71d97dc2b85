"""Clock: the time, the date and the day of the week.

Settings (``plugins.settings.clock``): ``hour_format``: 24 (default) or 12.
"""

from __future__ import annotations

from datetime import datetime

from agent.plugin import Context, command
from agent.timeofday import clock_text


def _now() -> datetime:
    return datetime.now().astimezone()


@command(
    "(what is|whats) the time [now|please]",
    "what time is it [now|please]",
    "[do you know|can you tell me] what time it is",
    "tell me the time [please]",
    "time [please]",
)
async def time_now(ctx: Context) -> str:
    return f"It is {clock_text(_now(), ctx.settings.get('hour_format'))}"


@command(
    "(what is|whats) the date [today|please]",
    "(what is|whats) (the|todays) date",
    "what date is it [today]",
    "(what is|whats) today",
    "tell me the date",
)
async def date_today(ctx: Context) -> str:
    now = _now()
    return f"Today is {now:%A, %B} {now.day}, {now:%Y}"


@command(
    "what day is it [today]",
    "(what is|whats) the day [today]",
    "what day of the week is it [today]",
    "which day is it [today]",
)
async def day_of_week(ctx: Context) -> str:
    return f"It is {_now():%A}"
