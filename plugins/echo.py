"""Echo: says back what it hears; handy for testing the microphone and recognition.

"repeat after me the rain in spain", "say hello world", "echo testing one two three".
"""

from __future__ import annotations

from agent.plugin import Context, command


@command("repeat after me {text}", "say {text}", "echo {text}", "repeat {text}")
async def echo(ctx: Context, text: str) -> str:
    return text
