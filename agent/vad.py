"""Silero VAD (the ONNX model shipped with faster-whisper), run on the stream chunk by chunk.

faster-whisper's ``SileroVADModel`` scores a whole array at once. For a live stream we keep
the LSTM state (``h``, ``c``) and the 64-sample context between calls, which gives exactly
the probabilities of the batch call, 512 samples (32 ms at 16 kHz) at a time.
"""

from __future__ import annotations

import numpy as np

CHUNK = 512
"""Samples per VAD chunk at 16 kHz."""
_CONTEXT = 64
PRIME_CHUNKS = 8
"""Chunks of silence (256 ms) the model hears before the stream: its state is then that of
a model that has been listening to a quiet room. From the all-zero state it scores speech
at the very start of a stream lower ("is" peaks at 0.45 instead of 0.75, under the
threshold) and a short word that opens a file or a recording is missed."""


class SileroVad:
    """Streaming speech probability for 512-sample chunks of 16 kHz mono audio."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session
        self._input = np.zeros((1, _CONTEXT + CHUNK), dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        """Back to the state of a model that has heard ``PRIME_CHUNKS`` of silence."""
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._input[:] = 0.0
        silence = np.zeros(CHUNK, dtype=np.float32)
        for _ in range(PRIME_CHUNKS):
            self(silence)

    def __call__(self, chunk: np.ndarray) -> float:
        """Probability that this 512-sample chunk is speech."""
        x = self._input
        x[0, _CONTEXT:] = chunk
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        x[0, :_CONTEXT] = x[0, -_CONTEXT:]  # context for the next chunk
        return float(out.ravel()[0])


WARMUP_CHUNKS = 16
"""Chunks (0.5 s) the energy gate passes whatever their level while it first learns the
floor: a stream that opens with speech (a file, a recording) would otherwise take that
speech for the floor and gate a short word away as noise."""


class EnergyGate:
    """A cheap test in front of Silero: is this chunk louder than the noise floor?

    The floor follows the quietest recent chunks (down fast, up slowly), so steady room
    noise is learnt and then costs only a dot product per chunk. Chunks within
    ``margin_db`` of the floor are taken as non-speech without running the model; the
    first ``WARMUP_CHUNKS`` all pass. While an utterance is in progress the pipeline runs
    the model on every chunk regardless.
    """

    def __init__(self, margin_db: float) -> None:
        self.enabled = margin_db > 0
        self.ratio = 10 ** (margin_db / 10)  # on mean square (power)
        self.floor = -1.0
        self.passed = 0
        self.gated = 0

    def loud(self, chunk: np.ndarray) -> bool:
        power = float(np.dot(chunk, chunk)) / chunk.shape[0]
        if self.floor < 0:
            self.floor = power
        elif power < self.floor:
            self.floor += 0.2 * (power - self.floor)
        else:
            self.floor += 0.002 * (power - self.floor)
        warm = self.passed + self.gated >= WARMUP_CHUNKS
        if not self.enabled or not warm or power > self.floor * self.ratio + 1e-10:
            self.passed += 1
            return True
        self.gated += 1
        return False
