"""Sanitising the audio stream before anything else sees it.

Every block from a source passes through ``Sanitizer.clean`` on the event loop (never in the
audio callback), before it reaches the stream history, the VAD and the model. What comes
out is always 1-D float32, finite, within [-1, 1] and without a DC offset:

- integer samples (int16/int32, also uint8) are scaled to [-1, 1]; float64 is narrowed;
- several channels are averaged to one;
- NaN and +/-Inf become 0 (silence): a broken driver or a bad file must not poison the
  VAD state or make the model invent text;
- values beyond full scale are clipped;
- a DC offset is measured on the first block, then tracked slowly (time constant ~1 s),
  and subtracted, so that a constant offset neither holds the energy gate open nor
  reaches the model.

Cost on the hot path: the format is checked once per stream (the first block decides
which conversions are needed), the finiteness test is one dot product per block, and the
range test is done on every block only until ``TRUST_BLOCKS`` clean blocks have passed
(and on every block whose offset was removed); after that one block in ``SAMPLE_EVERY`` is
checked, and the first out-of-range block
switches checking back to every block. Each kind of fault is logged once per stream and
counted in ``counts``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

TRUST_BLOCKS = 64
"""Clean blocks in a row after which the range is only sampled."""
SAMPLE_EVERY = 16
"""Once trusted, check the range of one block in this many."""
DC_RATE = 0.03
"""Per-block weight of the running DC estimate (about 1 s at 32 ms blocks)."""
DC_MIN = 1e-3
"""Offsets smaller than this are left alone."""


class Sanitizer:
    def __init__(self, warn: Callable[[str, str], None] | None = None) -> None:
        self._warn = warn
        self._format: tuple[np.dtype, int] | None = None
        self._scale = 1.0
        self._clean_run = 0
        self._blocks = 0
        self._dc = 0.0
        self._ones = np.ones(0, dtype=np.float32)
        self.counts: dict[str, int] = {"nonfinite": 0, "clipped": 0, "converted": 0}
        """Blocks that had NaN/Inf samples, out-of-range samples, or needed conversion."""

    def _note(self, kind: str, message: str) -> None:
        if self.counts[kind] == 0 and self._warn is not None:
            self._warn(kind, message)
        self.counts[kind] += 1

    def clean(self, block: np.ndarray) -> np.ndarray:
        """The block as finite mono float32 in [-1, 1]; a copy only when it had to change."""
        fmt = (block.dtype, block.ndim)
        if fmt != self._format:
            self._format = fmt
            self._scale = sample_scale(block.dtype)
        if block.dtype != np.float32 or block.ndim != 1:
            self._note("converted", f"audio arrives as {block.dtype} {block.shape}: converting")
            block = _to_mono_float32(block, self._scale)
        self._blocks += 1
        n = block.shape[0]
        power = float(np.dot(block, block))
        if not math.isfinite(power):
            self._note("nonfinite", "audio has NaN/Inf samples: replacing them with silence")
            block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
            self._clean_run = 0
        shifted = False
        if n:
            if self._ones.shape[0] < n:
                self._ones = np.ones(n, dtype=np.float32)
            mean = float(np.dot(block, self._ones[:n])) / n  # a dot is 4x cheaper than mean()
            # Start from the first block's mean, so an offset present from the start is
            # gone at once; afterwards follow it slowly, so speech itself is left alone.
            self._dc = mean if self._blocks == 1 else self._dc + DC_RATE * (mean - self._dc)
            if abs(self._dc) > DC_MIN:
                block = block - np.float32(self._dc)
                shifted = True
        if shifted or self._clean_run < TRUST_BLOCKS or self._blocks % SAMPLE_EVERY == 0:
            if n and float(np.abs(block).max()) > 1.0:
                self._note("clipped", "audio has samples beyond full scale: clipping")
                block = np.clip(block, -1.0, 1.0)
                self._clean_run = 0
            else:
                self._clean_run += 1
        return block


@functools.cache
def sample_scale(dtype: np.dtype) -> float:
    """What integer samples of ``dtype`` are multiplied by to reach [-1, 1] (1 for floats).
    Cached: the audio callback asks for it on every integer block."""
    if dtype.kind == "i":
        return 1.0 / float(-np.iinfo(dtype).min)
    if dtype.kind == "u":
        return 1.0 / float(np.iinfo(dtype).max // 2 + 1)
    return 1.0


def _to_mono_float32(block: np.ndarray, scale: float) -> np.ndarray:
    if block.dtype.kind not in "iuf":
        raise ValueError(f"audio samples of type {block.dtype} cannot be used")
    x = block.astype(np.float32)
    if block.dtype.kind == "u":
        x -= np.float32(1.0 / scale)  # unsigned PCM is centred on half scale
    if scale != 1.0:
        x *= np.float32(scale)
    if x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float32)
    elif x.ndim != 1:
        raise ValueError(f"audio blocks must be 1-D or (frames, channels), not {block.shape}")
    return x
