"""Dereverberation: a room's echo taken out of an utterance before it is read.

Heard a few metres away in a room, each sound rings on under the next, and tiny.en hears
commands wrongly: with a room's reverberation modelled (eval/rooms.yaml), 67 % of commands
are right at 0.6 s of it and 64 % at 1.0 s, against 82 % close to the microphone.
Weighted prediction error (WPE: Nakatani et al., 2010; the ``nara_wpe`` package of the
University of Paderborn, which the REVERB challenge's systems used) predicts the late
reverberation in each frequency band of the short-time spectrum from the frames ``DELAY``
and more before it, and takes it out.

On speech heard close up it only changes what Whisper hears at random, and it costs a few
hundred milliseconds an utterance, so with ``audio.dereverb: auto`` it runs only where a quick
pass (``ECHO_TAPS`` and one iteration, 500 Hz to 4 kHz, a few milliseconds) takes out at
least ``ECHO_DB`` of the power: an echo there is, and close speech, noise of any colour and
a television have none (docs/ACCURACY.md, thirty-third run).

It runs off the event loop, once per utterance, before the first reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIZE = 512
"""STFT frame: 32 ms at 16 kHz."""
SHIFT = 128
"""STFT hop: 8 ms."""
TAPS = 20
"""Frames of the past (160 ms) each band's echo is predicted from."""
DELAY = 3
"""The prediction starts this many frames back (24 ms): the speech's own sound and its
first reflections are kept."""
ITERATIONS = 3
"""Rounds of estimating the speech's power and the prediction again."""
ECHO_TAPS = 10
"""The quick pass that tells whether there is an echo: 80 ms of the past, one round."""
ECHO_BANDS = (16, 129)
"""STFT bins the quick pass looks at: 500 Hz to 4 kHz. Below, a rumble (brown noise) is as
predictable as an echo; above, little of speech is."""
ECHO_DB = 0.08
"""The quick pass takes out at least this much of the power where there is an echo: 0.11
to 0.43 dB on eval/rooms.yaml (0.3 to 1.0 s of reverberation), at most 0.06 dB on close
speech in any of the synthesizers, real voices reading prompts, noise of any colour and a
television."""


def _stft(audio: np.ndarray) -> np.ndarray:
    """Short-time spectrum, bins by frames (Hann window, ``SIZE``/``SHIFT``)."""
    window = np.hanning(SIZE + 1)[:-1]
    padded = np.concatenate([np.zeros(SIZE - SHIFT), audio, np.zeros(SIZE)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, SIZE)[::SHIFT] * window
    return np.fft.rfft(frames, axis=-1).T


def _istft(spectrum: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples back from ``_stft``'s spectrum (overlap-add, window-normalised)."""
    window = np.hanning(SIZE + 1)[:-1]
    frames = np.fft.irfft(spectrum.T, n=SIZE, axis=-1) * window
    out = np.zeros(SHIFT * (frames.shape[0] - 1) + SIZE)
    norm = np.zeros_like(out)
    for i, frame in enumerate(frames):
        out[i * SHIFT : i * SHIFT + SIZE] += frame
        norm[i * SHIFT : i * SHIFT + SIZE] += window**2
    return (out / np.maximum(norm, 1e-8))[SIZE - SHIFT : SIZE - SHIFT + n]


def _wpe(spectrum: np.ndarray, taps: int, iterations: int) -> np.ndarray:
    from nara_wpe.wpe import wpe_v7

    return wpe_v7(spectrum[:, None, :], taps=taps, delay=DELAY, iterations=iterations)[:, 0, :]


def echo_db(audio: np.ndarray) -> float:
    """How much of the power between 500 Hz and 4 kHz the quick pass takes out (dB)."""
    lo, hi = ECHO_BANDS
    spectrum = _stft(audio.astype(np.float64))[lo:hi]
    before = float(np.sum(np.abs(spectrum) ** 2))
    after = float(np.sum(np.abs(_wpe(spectrum, ECHO_TAPS, 1)) ** 2))
    return 10.0 * np.log10(before / after) if before > 0 and after > 0 else 0.0


@dataclass(frozen=True)
class Dereverb:
    """``audio.dereverb``: ``auto`` (where ``echo_db`` finds an echo), ``always`` or
    ``never``."""

    mode: str = "auto"

    def __call__(self, audio: np.ndarray) -> np.ndarray | None:
        """The utterance with its echo taken out, as float32; None where it is left as it
        is (``never``, or ``auto`` and no echo found, or too short to tell)."""
        if self.mode == "never" or audio.shape[0] < SIZE * 4:
            return None
        if self.mode == "auto" and echo_db(audio) < ECHO_DB:
            return None
        spectrum = _stft(audio.astype(np.float64))
        out = _istft(_wpe(spectrum, TAPS, ITERATIONS), audio.shape[0])
        return out.astype(np.float32)
