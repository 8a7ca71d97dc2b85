"""Dereverberation (agent/dereverb.py): the quick pass that tells a room's echo from close
speech, WPE taking the echo out, and the agent reading commands said across a room."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.capture import RATE, read_file
from agent.clips import synthesize
from agent.dereverb import ECHO_DB, Dereverb, _istft, _stft, echo_db
from agent.manifest import Clip, Say
from tests.conftest import of, run_file

COMMAND = "hey computer, remind me to call the doctor in twenty minutes"


def _said(tmp_path: Path, name: str, **kw: object) -> np.ndarray:
    path = tmp_path / name
    synthesize(Clip(path=path, say=Say(COMMAND, "en-us", 160, **kw)))  # type: ignore[arg-type]
    return read_file(path)


def test_the_spectrum_gives_back_the_samples() -> None:
    x = np.random.default_rng(1).standard_normal(RATE)
    assert np.allclose(_istft(_stft(x), x.shape[0]), x)


def test_the_quick_pass_finds_a_rooms_echo_and_not_noise(tmp_path: Path) -> None:
    """An echo of 0.3 and 1.0 s is found; the same words close up, in white noise at 10 dB
    and in a rumble (brown noise, as predictable as an echo below 500 Hz) are not."""
    for reverb in (0.3, 1.0):
        assert echo_db(_said(tmp_path, f"room{reverb}.wav", reverb_s=reverb)) > ECHO_DB
    assert echo_db(_said(tmp_path, "close.wav")) < ECHO_DB / 4
    assert echo_db(_said(tmp_path, "white.wav", snr_db=10.0)) < ECHO_DB / 2
    assert echo_db(_said(tmp_path, "brown.wav", snr_db=15.0, noise="brown")) < ECHO_DB / 2
    assert echo_db(np.zeros(RATE, np.float32)) == 0.0  # silence: nothing to tell


def _db(x: np.ndarray, y: np.ndarray) -> float:
    """How far the power of ``y`` is below that of ``x`` (dB)."""
    return 10.0 * float(
        np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(y.astype(np.float64) ** 2))
    )


@pytest.mark.parametrize("mode", ["auto", "always", "never"])
def test_which_utterances_lose_their_echo(tmp_path: Path, mode: str) -> None:
    """WPE takes out some of the ring after the speech (the room's tail: 1.7 dB at 0.6 s
    of reverberation) and keeps the speech (0.6 dB less, the echo under it); close speech
    it leaves as it is. ``auto`` leaves close speech alone, ``never`` everything."""
    dereverb = Dereverb(mode)
    room = _said(tmp_path, "room.wav", reverb_s=0.6)
    close = _said(tmp_path, "close.wav")
    out = dereverb(room)
    assert (out is None) == (mode == "never")
    assert (dereverb(close) is None) == (mode != "always")
    assert dereverb(room[:1000]) is None  # too short to tell
    if out is not None:
        assert out.dtype == np.float32 and out.shape == room.shape
        end = int(np.flatnonzero(np.abs(close) > 1e-3)[-1])  # the last sound said
        tail, speech = slice(end, end + int(0.3 * RATE)), slice(int(0.4 * RATE), end)
        assert _db(room[tail], out[tail]) > 1.0
        assert 0.0 < _db(room[speech], out[speech]) < 1.0
        kept = Dereverb("always")(close)
        assert kept is not None and abs(_db(close[speech], kept[speech])) < 0.05


@pytest.mark.parametrize("dereverb", ["auto", "never"])
def test_a_command_said_across_a_room_is_heard_once_its_echo_is_out(
    tmp_path: Path, isolated_env: dict, dereverb: str
) -> None:
    """espeak-ng's en-us across a room with 1.0 s of reverberation (eval/rooms.yaml):
    through the real agent, tiny.en wrote "reminder call for doctor in 20 minutes" where
    this was measured, which a rescue made into the wrong reminder; with the echo taken out
    it hears the command as said. A command said close up keeps its audio."""
    room = tmp_path / "room.wav"
    synthesize(Clip(path=room, say=Say(COMMAND, "en-us", 160, reverb_s=1.0)))
    config = f"audio:\n  dereverb: {dereverb}\nplugins:\n  fallback: silent\n"
    evs = run_file(room, config, isolated_env)
    [t] = of(evs, "transcript")
    assert t["dereverbed"] is (dereverb == "auto")
    assert of(evs, "stopped")[0]["dereverbed"] == (dereverb == "auto")
    commands = [(c["command"], c["slots"]) for c in of(evs, "command")]
    right = ("remind", {"text": "call the doctor", "duration": 1200.0})
    if dereverb == "auto":
        assert "remind me to call the doctor in 20 minutes" in t["text"].lower()
        assert commands == [right]
    else:  # misheard where this was measured; another CPU may hear it otherwise
        assert t["text"] != "" and len(commands) <= 1
    close = tmp_path / "close.wav"
    synthesize(Clip(path=close, say=Say(COMMAND, "en-us", 160)))
    evs = run_file(close, config, isolated_env)
    assert [t["dereverbed"] for t in of(evs, "transcript")] == [False]
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [right]
