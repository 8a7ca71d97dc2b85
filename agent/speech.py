"""Spoken output through espeak-ng, one phrase at a time, off the event loop.

Text to speak goes into a small queue; one task runs ``espeak-ng`` for each phrase in turn.
When the queue is full (a plugin spamming ``say``) further phrases are dropped and counted;
they are still printed and logged by the caller. ``speaking`` is true while sound is out.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

from agent.config import SpeechConfig
from agent.feedback import OutputLog

QUEUE = 8


class Speaker:
    def __init__(self, cfg: SpeechConfig, log: Any, output: OutputLog | None = None) -> None:
        self.cfg = cfg
        self.log = log
        self.output = output or OutputLog()
        self.binary = shutil.which("espeak-ng") if cfg.enabled else None
        if cfg.enabled and self.binary is None:
            log.warning("speech.enabled is true but espeak-ng is not installed; printing only")
        self._queue: asyncio.Queue[str] | None = None
        self._task: asyncio.Task[None] | None = None
        self.speaking = False
        self.dropped = 0

    def say(self, text: str) -> None:
        if self.binary is None or not text:
            return
        if self._queue is None:
            self._queue = asyncio.Queue(QUEUE)
            self._task = asyncio.get_running_loop().create_task(self._run(), name="speaker")
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _run(self) -> None:
        assert self._queue is not None and self.binary is not None
        while True:
            text = await self._queue.get()
            self.speaking = True
            self.output.begin(id(self))
            try:
                proc = await asyncio.create_subprocess_exec(
                    self.binary,
                    "-v",
                    self.cfg.voice,
                    "-s",
                    str(self.cfg.rate),
                    "--",
                    text,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                await proc.wait()
            except OSError as exc:
                self.log.error(f"espeak-ng failed: {exc}")
            finally:
                self.output.end(id(self))
                self.speaking = self._queue.qsize() > 0

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
