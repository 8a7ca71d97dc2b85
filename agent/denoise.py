"""Noise suppression for an utterance spoken in a noisy room.

Whisper tiny.en hears most commands said over steady noise at 10 dB SNR wrongly (45 % right
against 84 % clean, docs/ACCURACY.md). WebRTC's noise suppressor (the ``webrtc-noise-gain``
package, which Home Assistant's Assist uses too) learns the noise and takes it out; on those
clips it brings command accuracy to 72 %. On clean speech it only changes what Whisper hears
at random, so it runs only on an utterance whose speech stands less than
``audio.denoise_below_db`` above the noise before it (``noise_power``; the energy gate's
floor when the stream has just started).

It runs once per utterance, on the audio read back from the stream history with a second of
what came before it, so the suppressor has the noise to learn from before the speech starts.
That costs about 1.5 ms per second of audio, off the audio callback.
"""

from __future__ import annotations

import math

import numpy as np
from webrtc_noise_gain import AudioProcessor

FRAME = 160
"""The suppressor works on 10 ms frames of 16-bit audio at 16 kHz."""
DELAY = 96
"""Samples the suppressor's output lags its input (measured; tests/test_denoise.py checks)."""
LEAD_S = 1.0
"""Audio before the utterance given to the suppressor to learn the noise from."""
MAX_SNR_DB = 99.0
"""Reported for digital silence (a noise floor of zero)."""
NOISE_CHUNK = 512
"""The noise before an utterance is measured in chunks of this many samples (32 ms)."""


def _chunk_energies(audio: np.ndarray) -> np.ndarray | None:
    """The energy of each whole 32 ms chunk of ``audio``; None when there is none."""
    chunks = audio.shape[0] // NOISE_CHUNK
    if chunks == 0:
        return None
    c = audio[: chunks * NOISE_CHUNK].reshape(chunks, NOISE_CHUNK)
    return np.einsum("ij,ij->i", c, c)


def noise_power(before: np.ndarray) -> float | None:
    """The power of the noise in the audio before an utterance: the median over 32 ms
    chunks, so a click or a breath does not count. None when there is less than a chunk."""
    energies = _chunk_energies(before)
    return None if energies is None else float(np.median(energies)) / NOISE_CHUNK


def quietest_power(audio: np.ndarray) -> float | None:
    """The power of the quietest 32 ms chunk of ``audio``: the noise as well as it can be
    told when nothing was heard before an utterance (a stream that opens with speech).
    None when there is less than a chunk."""
    energies = _chunk_energies(audio)
    return None if energies is None else float(np.min(energies)) / NOISE_CHUNK


def snr_db(speech: np.ndarray, noise: float) -> float:
    """How far (dB) the mean power of ``speech`` stands above the power ``noise``."""
    if speech.shape[0] == 0:
        return 0.0
    power = float(np.dot(speech, speech)) / speech.shape[0]
    if noise <= 0.0:
        return MAX_SNR_DB
    return min(10.0 * math.log10(max(power, 1e-20) / noise), MAX_SNR_DB)


class Denoiser:
    """Suppresses steady noise in an utterance when the room is noisy."""

    def __init__(self, mode: str, below_db: float, level: int) -> None:
        self.mode = mode
        """``auto`` (by ``below_db``), ``always`` or ``never``."""
        self.below_db = below_db
        self.level = level
        """WebRTC suppression level: 1 (mild) to 4 (strongest)."""

    def wanted(self, snr: float) -> bool:
        """Should an utterance whose speech stands ``snr`` dB above the noise be cleaned?"""
        if self.mode == "never":
            return False
        return self.mode == "always" or snr < self.below_db

    def __call__(self, audio: np.ndarray, lead: int) -> np.ndarray:
        """``audio`` minus its steady noise, without its first ``lead`` samples (the
        noise the suppressor learnt from). Float samples in [-1, 1] in and out."""
        n = audio.shape[0]
        frames = -(-(n + DELAY) // FRAME)
        pcm = np.zeros(frames * FRAME, dtype=np.int16)
        pcm[:n] = np.clip(audio * 32767.0, -32768.0, 32767.0)
        proc = AudioProcessor(0, self.level)
        out = bytearray()
        for i in range(0, pcm.shape[0], FRAME):
            out += proc.Process10ms(pcm[i : i + FRAME].tobytes()).audio
        cleaned = np.frombuffer(bytes(out), dtype=np.int16)[DELAY + lead : DELAY + n]
        return cleaned.astype(np.float32) / 32768.0
