"""Noise suppression (agent/denoise.py): the measure of how noisy an utterance is, the
suppressor on real speech in white noise, and the pipeline using it on a noisy command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.capture import RATE, read_file
from agent.clips import synthesize
from agent.denoise import (
    DELAY,
    MAX_SNR_DB,
    NOISE_CHUNK,
    Denoiser,
    noise_power,
    quietest_power,
    snr_db,
)
from agent.manifest import Clip, Say


def _power(x: np.ndarray) -> float:
    return float(np.dot(x, x)) / x.shape[0]


def test_noise_power_is_the_median_of_its_chunks() -> None:
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(NOISE_CHUNK * 10) * 0.01).astype(np.float32)
    clicked = noise.copy()
    clicked[NOISE_CHUNK * 3 : NOISE_CHUNK * 4] = 0.9  # a click in one chunk
    assert noise_power(clicked) == pytest.approx(1e-4, rel=0.2)
    assert noise_power(noise[: NOISE_CHUNK - 1]) is None  # less than a chunk: unknown


def test_the_quietest_chunk_is_the_noise_when_nothing_came_before() -> None:
    rng = np.random.default_rng(1)
    quiet = rng.normal(0, 0.01, NOISE_CHUNK * 2).astype(np.float32)
    loud = rng.normal(0, 0.3, NOISE_CHUNK * 10).astype(np.float32)
    assert quietest_power(np.concatenate([loud, quiet])) == pytest.approx(1e-4, rel=0.2)
    assert quietest_power(quiet[: NOISE_CHUNK - 1]) is None


def test_snr_is_the_speech_power_over_the_noise() -> None:
    t = np.arange(RATE, dtype=np.float32) / RATE
    tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # power 0.005
    assert snr_db(tone, 0.005 / 10) == pytest.approx(10.0, abs=0.01)
    assert snr_db(tone, 0.0) == MAX_SNR_DB  # digital silence before it
    assert snr_db(np.zeros(0, np.float32), 1e-4) == 0.0


@pytest.mark.parametrize(
    ("mode", "snr", "wanted"),
    [
        ("auto", 10.4, True),
        ("auto", 15.0, False),
        ("auto", 99.0, False),
        ("always", 99.0, True),
        ("never", 3.0, False),
    ],
)
def test_which_utterances_are_cleaned(mode: str, snr: float, wanted: bool) -> None:
    assert Denoiser(mode, 15.0, 3).wanted(snr) is wanted


def test_the_suppressor_takes_out_the_noise_and_keeps_the_speech(tmp_path: Path) -> None:
    """espeak-ng speech in white noise at 10 dB SNR (0.4 s of noise before it): the
    cleaned audio is aligned with the clean speech sample for sample, the noise between
    the words is more than 10 dB lower, and the speech is still there."""
    clean = tmp_path / "clean.wav"
    noisy = tmp_path / "noisy.wav"
    text = "hey computer, what time is it"
    synthesize(Clip(path=clean, say=Say(text, "en-us", 160)))
    synthesize(Clip(path=noisy, say=Say(text, "en-us", 160, snr_db=10.0)))
    c = read_file(clean)
    x = read_file(noisy)
    lead = int(0.2 * RATE)
    out = Denoiser("always", 15.0, 3)(x, lead)
    assert out.shape[0] == x.shape[0] - lead and out.dtype == np.float32
    c, x = c[lead:], x[lead:]
    quiet = np.abs(c) < 1e-4  # where espeak-ng is silent: only noise in the noisy clip
    assert quiet.sum() > RATE // 4
    assert 10 * np.log10(_power(x[quiet]) / _power(out[quiet])) > 10
    lags = range(-2 * DELAY, 2 * DELAY + 1, 8)
    corr = [float(np.dot(c[500:-500], np.roll(out, -lag)[500:-500])) for lag in lags]
    assert abs(list(lags)[int(np.argmax(corr))]) <= 8  # DELAY is what the suppressor lags
    assert max(corr) / np.sqrt(_power(c) * _power(out)) / c[500:-500].shape[0] > 0.8


NOISY = ("hey computer, set a timer for five minutes", "en-gb", 180)
"""A command tiny.en mishears at 10 dB SNR ("set a time of all I'm minutes") and hears once
the noise is out, however much noise comes before it (0, 1 or 2 s, tried)."""


@pytest.mark.parametrize("denoise", ["auto", "never"])
def test_a_command_in_noise_is_heard_once_the_noise_is_out(
    tmp_path: Path, isolated_env: dict, tiny: object, denoise: str
) -> None:
    """NOISY in white noise at 10 dB SNR, through the real agent: as it is, no template
    matched what tiny.en wrote where this was measured ("set a time of all I'm minutes", no
    number; on an AMD CPU it hears it right), and only rescoring, asking the audio about the
    numbers, set the timer (~0.4 s more); with the noise taken out it hears the command as
    said. A clean command is left as it is."""
    from agent.bench import with_
    from agent.config import Config
    from tests.conftest import heard_as, of, run_file

    noisy = tmp_path / "noisy.wav"
    synthesize(Clip(path=noisy, say=Say(*NOISY, snr_db=10.0)))
    clean = tmp_path / "clean.wav"
    synthesize(Clip(path=clean, say=Say("hey computer, what time is it", "en-us", 160)))
    config = f"audio:\n  denoise: {denoise}\nplugins:\n  fallback: silent\n"
    evs = run_file(noisy, config, isolated_env)
    [utt] = of(evs, "utterance")
    assert 9.5 < utt["snr_db"] < 12.0
    assert utt["denoised"] is (denoise == "auto")
    assert of(evs, "stopped")[0]["denoised"] == (denoise == "auto")
    commands = [(c["command"], c["slots"]) for c in of(evs, "command")]
    right = ("set_timer", {"minutes": 5})
    heard_as_said = "set a timer for five minutes" in of(evs, "transcript")[0]["text"].lower()
    if denoise == "auto":
        assert commands == [right]
        assert heard_as_said and of(evs, "rescored") == []
    else:  # misheard where this was measured; on another CPU tiny.en may get it as it is
        if heard_as_said:
            assert commands == [right] and of(evs, "rescored") == []
        else:  # rescued, or (near the limit, below) nothing runs
            assert commands in ([right], []) and len(of(evs, "rescored")) == len(commands)
        # that mishearing, made on any CPU: rescoring asks the audio about the numbers. It
        # is near the limit: "5 minutes" came at least MIN_MARGIN (0.5) above "6 minutes"
        # where this was measured, and 0.49 on a CPU with AVX-512, where nothing runs
        never = with_(Config(), "audio", denoise="never")
        evs = heard_as(noisy, "Hey computer, set a time of all I'm minutes.", tiny, never)
        rescued = [r["text"] for r in of(evs, "rescored")]
        assert rescued in (["set a timer for 5 minutes"], [])
        assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [right] * len(rescued)
    evs = run_file(clean, config, isolated_env)
    [utt] = of(evs, "utterance")
    assert utt["snr_db"] == MAX_SNR_DB and utt["denoised"] is False
    assert [c["command"] for c in of(evs, "command")] == ["time_now"]


def test_a_wake_phrase_the_suppressor_blurs_is_read_from_the_audio_as_heard(
    tmp_path: Path, isolated_env: dict
) -> None:
    """ "hey computer, set a timer for five minutes" at 10 dB SNR: with the noise taken out
    tiny.en writes "They can do her set a timer ..." (no wake phrase); the audio as heard
    reads "A computer set a timer ...", which wakes the agent and sets the timer."""
    from tests.conftest import of, run_file

    noisy = tmp_path / "noisy.wav"
    text = "hey computer, set a timer for five minutes"
    synthesize(Clip(path=noisy, say=Say(text, "en-us", 140, snr_db=10.0)))
    evs = run_file(noisy, "plugins:\n  fallback: silent\n", isolated_env)
    [utt] = of(evs, "utterance")
    assert utt["denoised"] is True
    [t] = of(evs, "transcript")
    assert t["denoised"] is False and "computer" in t["text"].lower()
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [
        ("set_timer", {"minutes": 5})
    ]


def test_a_file_that_opens_with_speech_is_not_taken_for_a_noisy_room(
    fixtures: Any, tmp_path: Path, isolated_env: dict
) -> None:
    """ "hey computer, what time is it" and "cancel" with the silence before them cut off,
    so the stream opens with speech (a file, a recording): the noise is not learnt from the
    speech's own first sound (it measured 12.5 and 7.9 dB and was denoised, and "cancel"
    came out as "Council."); the command runs, the word is heard, nothing is denoised."""
    from tests.conftest import of, run_file, sox, speak

    opened = sox(fixtures.path("time.wav"), tmp_path / "time.wav", "silence", "1", "0.01", "0.5%")
    evs = run_file(opened, "audio:\n  denoise: auto\n", isolated_env)
    [utterance] = of(evs, "utterance")
    assert utterance["snr_db"] > 20 and not utterance["denoised"]
    assert [(e["plugin"], e["command"]) for e in of(evs, "command")] == [("clock", "time_now")]
    said = tmp_path / "cancel-said.wav"
    speak("cancel", said)
    word = sox(said, tmp_path / "cancel.wav", "silence", "1", "0.01", "0.5%")
    evs = run_file(word, "plugins:\n  fallback: silent\n", isolated_env)
    [utterance] = of(evs, "utterance")
    assert utterance["snr_db"] > 20 and not utterance["denoised"]
    assert [e["text"] for e in of(evs, "transcript")] == ["Cancel."]
