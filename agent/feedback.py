"""Audible feedback, and knowing when the agent itself is making sound.

Tones are made with numpy once, at start, and played with sounddevice off the loop. Every
sound the agent makes (a tone, or speech through ``Speaker``) is recorded in an
``OutputLog`` as a span of ``time.monotonic()``; an utterance that overlaps one of those
spans is not searched for the wake phrase, so the agent never wakes on its own voice.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections import deque
from typing import Any

import numpy as np

from agent.config import FeedbackConfig

RATE = 16000
TAIL_S = 0.35
"""After a sound ends, its echo and the capture latency still count as the agent's."""


class OutputLog:
    """Spans of time in which the agent was making sound."""

    def __init__(self, keep: int = 32) -> None:
        self._spans: deque[tuple[float, float]] = deque(maxlen=keep)
        self._open: dict[int, float] = {}

    def begin(self, key: int) -> None:
        self._open[key] = time.monotonic()

    def end(self, key: int) -> None:
        start = self._open.pop(key, None)
        if start is not None:
            self._spans.append((start, time.monotonic() + TAIL_S))

    def add(self, start: float, duration: float) -> None:
        self._spans.append((start, start + duration + TAIL_S))

    def overlaps(self, start: float, end: float) -> bool:
        if any(s < end for s in self._open.values()):
            return True
        return any(s < end and start < e for s, e in self._spans)


def _tone(freqs: list[float], each_s: float, volume: float) -> np.ndarray:
    parts = []
    n = int(RATE * each_s)
    t = np.arange(n) / RATE
    ramp = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.005 * RATE))
    for f in freqs:
        parts.append(np.sin(2 * math.pi * f * t) * ramp)
        parts.append(np.zeros(int(RATE * 0.02)))
    return (np.concatenate(parts) * volume).astype(np.float32)


class Feedback:
    """Plays the wake and error tones when enabled; records them in the ``OutputLog``."""

    def __init__(self, cfg: FeedbackConfig, output: OutputLog, log: Any) -> None:
        self.cfg = cfg
        self.output = output
        self.log = log
        self.wake_tone = _tone([660.0, 990.0], 0.07, cfg.volume)
        self.error_tone = _tone([440.0, 330.0], 0.12, cfg.volume)
        self._warned = False

    def wake(self) -> None:
        self._play(self.wake_tone)

    def error(self) -> None:
        self._play(self.error_tone)

    def _play(self, tone: np.ndarray) -> None:
        if not self.cfg.tones:
            return
        self.output.add(time.monotonic(), tone.shape[0] / RATE)
        asyncio.get_running_loop().run_in_executor(None, self._play_sync, tone)

    def _play_sync(self, tone: np.ndarray) -> None:
        try:
            import sounddevice as sd

            sd.play(tone, RATE, blocking=True)
        except Exception as exc:  # no output device: feedback is a nicety, never a failure
            if not self._warned:
                self._warned = True
                print(f"voiceflow: cannot play feedback tones: {exc}", file=sys.stderr, flush=True)
