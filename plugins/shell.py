"""Shell: spoken phrases mapped in the config to programs, run as argument lists.

    plugins:
      settings:
        shell:
          commands:
            "open the browser": ["xdg-open", "https://example.org"]
            "play {song}": ["mpc", "searchplay", "{song}"]
          timeout_s: 10

A phrase is a command template. Each ``{slot}`` in an argument is replaced by what was said,
and the result stays one argument: nothing is ever given to a shell, so ``; rm -rf ~`` or
``$(...)`` in speech is just text. Replies with the program's first line of output.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterable, Mapping
from typing import Any

from agent.plugin import Context, ProvidedCommand

_SLOT = re.compile(r"\{(\w+)(?::\w+)?\}")


def build_argv(template: list[str], slots: Mapping[str, Any]) -> list[str]:
    """Substitute slot values into each argument; one argument in, one argument out."""
    return [_SLOT.sub(lambda m: str(slots.get(m.group(1), m.group(0))), arg) for arg in template]


def _handler(phrase: str, argv: list[str], timeout_s: float) -> Any:
    async def run(ctx: Context, **slots: Any) -> str:
        args = build_argv(argv, slots)
        if shutil.which(args[0]) is None:
            return f"{args[0]} is not installed"
        ctx.log.info(f"running {args!r}")
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return f"{args[0]} took longer than {timeout_s:g} seconds and was stopped"
        if proc.returncode != 0:
            first = err.decode(errors="replace").strip().splitlines()[:1]
            return f"{args[0]} failed" + (f": {first[0]}" if first else "")
        lines = out.decode(errors="replace").strip().splitlines()
        return lines[0] if lines else "Done"

    run.__name__ = "shell"
    return run


def provide_commands(settings: Mapping[str, Any]) -> Iterable[ProvidedCommand]:
    commands = settings.get("commands") or {}
    if not isinstance(commands, Mapping):
        raise ValueError("plugins.settings.shell.commands must map phrases to argument lists")
    timeout_s = float(settings.get("timeout_s", 10))
    for phrase, argv in commands.items():
        if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
            raise ValueError(
                f"plugins.settings.shell.commands[{phrase!r}] must be a list of strings "
                "(an argument list, never a shell string)"
            )
        yield ProvidedCommand(f"run {argv[0]}", (str(phrase),), _handler(phrase, argv, timeout_s))
