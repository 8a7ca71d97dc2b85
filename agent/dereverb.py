"""Dereverberation: a room's echo taken out of an utterance before it is read.

Heard a few metres away in a room, each sound rings on under the next, and tiny.en hears
commands wrongly: with a room's reverberation modelled (eval/rooms.yaml), 67 % of commands
were right (81 % at 0.3 s of reverberation, 64 % at 1.0 s). Weighted prediction error (WPE:
Nakatani et al., 2010; NTT's method in the REVERB challenge, as the University of
Paderborn's ``nara_wpe`` package implements it) predicts the late reverberation in each
frequency band of the short-time spectrum from the frames ``DELAY`` and more before it, and
takes it out.

On speech heard close up it only changes what Whisper hears at random, and it costs a few
hundred milliseconds an utterance, so with ``audio.dereverb: auto`` it runs only where a
quick pass (``ECHO_TAPS`` and one iteration, every other band from 500 Hz to 4 kHz, a few
milliseconds) takes out at least ``ECHO_DB`` of the power: an echo there is, and close
speech, noise of any colour and a television have none (docs/ACCURACY.md, thirty-third run).

It runs off the event loop, once per utterance. With ``auto`` the quick pass runs while the
utterance is read as heard (on the second core), so close speech waits for nothing; where
it finds an echo, that reading is dropped and the audio without the echo is read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIZE = 512
"""STFT frame: 32 ms at 16 kHz."""
SHIFT = 128
"""STFT hop: 8 ms."""
WINDOW = np.hanning(SIZE + 1)[:-1]
"""The STFT's periodic Hann window (its squares, overlap-added, undo it in ``_istft``)."""
TAPS = 20
"""Frames of the past (160 ms) each band's echo is predicted from."""
DELAY = 3
"""The prediction starts this many frames back (24 ms): the speech's own sound and its
first reflections are kept."""
ITERATIONS = 3
"""Rounds of estimating the speech's power and the prediction again."""
ECHO_TAPS = 10
"""The quick pass that tells whether there is an echo: 80 ms of the past, one round."""
ECHO_BINS = slice(16, 129, 2)
"""STFT bins the quick pass looks at: every other one from 500 Hz to 4 kHz (all of them tell
echo from none no better, at twice the cost). Below, a rumble (brown noise) is as
predictable as an echo; above, little of speech is."""
ECHO_DB = 0.08
"""The quick pass takes out at least this much of the power where there is an echo: 0.11
to 0.43 dB of whole clips of eval/rooms.yaml (0.3 to 1.0 s of reverberation), at most 0.06 dB
of close speech in any of the synthesizers, real voices reading prompts, noise of any colour
and a television (all the bands; with every other one, at least 0.105 and at most 0.042 on
400 clips of eight sets). An utterance is shorter than its clip: 23 of about 4,800 clips of
close speech had one above the line (docs/ACCURACY.md)."""


def _stft(audio: np.ndarray) -> np.ndarray:
    """Short-time spectrum, bins by frames (Hann window, ``SIZE``/``SHIFT``)."""
    padded = np.concatenate([np.zeros(SIZE - SHIFT), audio, np.zeros(SIZE)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, SIZE)[::SHIFT] * WINDOW
    return np.fft.rfft(frames, axis=-1).T


def _istft(spectrum: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples back from ``_stft``'s spectrum (overlap-add, window-normalised)."""
    frames = np.fft.irfft(spectrum.T, n=SIZE, axis=-1) * WINDOW
    out = np.zeros(SHIFT * (frames.shape[0] - 1) + SIZE)
    norm = np.zeros_like(out)
    for i, frame in enumerate(frames):
        out[i * SHIFT : i * SHIFT + SIZE] += frame
        norm[i * SHIFT : i * SHIFT + SIZE] += WINDOW**2
    return (out / np.maximum(norm, 1e-8))[SIZE - SHIFT : SIZE - SHIFT + n]


def _wpe(spectrum: np.ndarray, taps: int, iterations: int) -> np.ndarray:
    from nara_wpe.wpe import wpe_v7

    return wpe_v7(spectrum[:, None, :], taps=taps, delay=DELAY, iterations=iterations)[:, 0, :]


def echo_db(audio: np.ndarray) -> float:
    """How much of the power between 500 Hz and 4 kHz the quick pass takes out (dB)."""
    spectrum = _stft(audio.astype(np.float64))[ECHO_BINS]
    before = float(np.sum(np.abs(spectrum) ** 2))
    after = float(np.sum(np.abs(_wpe(spectrum, ECHO_TAPS, 1)) ** 2))
    return 10.0 * np.log10(before / after) if before > 0 and after > 0 else 0.0


@dataclass(frozen=True)
class Dereverb:
    """``audio.dereverb``: ``auto`` (where ``echo_db`` finds an echo), ``always`` or
    ``never``."""

    mode: str = "auto"

    def applies(self, audio: np.ndarray) -> bool:
        """Might the utterance lose an echo: not ``never``, and long enough to tell."""
        return self.mode != "never" and audio.shape[0] >= SIZE * 4

    def echoes(self, audio: np.ndarray) -> bool:
        """Is there an echo to take out (``always``: taken to be)?"""
        return self.applies(audio) and (self.mode == "always" or echo_db(audio) >= ECHO_DB)

    def clear(self, audio: np.ndarray) -> np.ndarray:
        """The utterance with its echo taken out (the full WPE), as float32."""
        spectrum = _stft(audio.astype(np.float64))
        return _istft(_wpe(spectrum, TAPS, ITERATIONS), audio.shape[0]).astype(np.float32)

    def __call__(self, audio: np.ndarray) -> np.ndarray | None:
        """The utterance with its echo taken out; None where it is left as it is
        (``never``, or ``auto`` and no echo found, or too short to tell)."""
        return self.clear(audio) if self.echoes(audio) else None
