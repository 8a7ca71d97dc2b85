"""The whole agent through ``voiceflow run --input FILE --fast --json``, real tiny.en model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Fixtures, of, run_agent, run_cli


def run_file(path: Path, env: dict[str, str], *extra: str) -> list[dict]:
    code, events, err = run_agent("run", "--input", str(path), "--fast", "--json", *extra, env=env)
    assert code == 0, err
    assert "Traceback" not in err, err
    assert events[0]["event"] == "ready"
    assert events[-1]["event"] == "stopped"
    return events


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("time.wav", "time_now"),
        ("day.wav", "day_of_week"),
        ("date.wav", "date_today"),
        ("time_stereo_44k.wav", "time_now"),
        ("time_48k.wav", "time_now"),
        ("time_stereo_48k.wav", "time_now"),
    ],
)
def test_wake_and_command_dispatch(
    fixtures: Fixtures, isolated_env: dict, name: str, command: str
) -> None:
    events = run_file(fixtures.path(name), isolated_env)
    utt = of(events, "utterance")
    assert len(utt) == 1
    assert 0.2 < utt[0]["start_s"] < 0.6  # 0.4 s of leading silence in the fixture
    assert utt[0]["end_s"] > utt[0]["start_s"]
    t = of(events, "transcript")[0]
    assert t["raw"] and t["text"] and t["asr_ms"] > 0
    assert of(events, "wake")[0]["phrase"] in ("hey computer", "computer")
    cmds = of(events, "command")
    assert len(cmds) == 1, events
    assert cmds[0]["plugin"] == "clock" and cmds[0]["command"] == command
    assert cmds[0]["reply"]
    assert cmds[0]["latency_ms"] >= 0
    assert of(events, "stopped")[0]["commands"] == 1


@pytest.mark.parametrize("name", ["silence.wav", "noise.wav", "brown.wav"])
def test_silence_and_noise_produce_no_transcript(
    fixtures: Fixtures, isolated_env: dict, name: str
) -> None:
    events = run_file(fixtures.path(name), isolated_env)
    assert of(events, "transcript") == []
    assert of(events, "command") == []


def test_speech_without_wake_phrase_dispatches_nothing(
    fixtures: Fixtures, isolated_env: dict
) -> None:
    events = run_file(fixtures.path("no_wake.wav"), isolated_env)
    assert len(of(events, "transcript")) == 1
    assert of(events, "wake") == []
    assert of(events, "command") == []
    assert of(events, "ignored")[0]["reason"] == "no_wake_phrase"


def test_command_without_wake_phrase_dispatches_nothing(
    fixtures: Fixtures, isolated_env: dict
) -> None:
    events = run_file(fixtures.path("bare_time.wav"), isolated_env)
    assert "time" in of(events, "transcript")[0]["text"].lower()
    assert of(events, "command") == []


def test_wake_phrase_then_command_in_follow_up_window(
    fixtures: Fixtures, isolated_env: dict
) -> None:
    events = run_file(fixtures.path("follow_up.wav"), isolated_env)
    assert len(of(events, "utterance")) == 2
    cmds = of(events, "command")
    assert len(cmds) == 1 and cmds[0]["command"] == "time_now" and cmds[0]["follow_up"] is True


def test_paced_file_runs_in_real_time(fixtures: Fixtures, isolated_env: dict) -> None:
    import time

    started = time.monotonic()
    code, events, err = run_agent(
        "run", "--input", str(fixtures.path("time.wav")), "--json", env=isolated_env
    )
    elapsed = time.monotonic() - started
    assert code == 0, err
    assert len(of(events, "command")) == 1
    assert elapsed >= 3.0  # the file is ~3.4 s long and was not read faster than real time


def test_raw_pcm_on_stdin(fixtures: Fixtures, isolated_env: dict) -> None:
    import wave

    with wave.open(str(fixtures.path("time.wav"))) as w:  # already 16 kHz mono s16le
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        pcm = w.readframes(w.getnframes())
    code, events, err = run_agent("run", "--input", "-", "--json", env=isolated_env, stdin=pcm)
    assert code == 0, err
    assert [c["command"] for c in of(events, "command")] == ["time_now"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_audio.wav", "cannot read audio"),
        ("empty.wav", "empty file"),
        ("truncated.wav", "cannot read audio"),
        ("missing.wav", "no such file"),
    ],
)
def test_unreadable_audio_is_a_clear_error(
    fixtures: Fixtures, isolated_env: dict, name: str, message: str
) -> None:
    code, events, err = run_agent(
        "run", "--input", str(fixtures.path(name)), "--fast", "--json", env=isolated_env
    )
    assert code == 1
    assert f"{fixtures.path(name)}: {message}" in err
    assert "Traceback" not in err
    assert of(events, "command") == []


def test_human_output_prints_the_reply(fixtures: Fixtures, isolated_env: dict) -> None:

    proc = run_cli("run", "--input", str(fixtures.path("time.wav")), "--fast", env=isolated_env)
    assert proc.returncode == 0, proc.stderr
    assert "[clock] It is" in proc.stdout
    assert "command clock.time_now" in proc.stderr  # and logged


def test_transcribe_file(fixtures: Fixtures, isolated_env: dict) -> None:

    proc = run_cli("transcribe", str(fixtures.path("no_wake.wav")), env=isolated_env)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.lower()
    assert "today" in text and "walk" in text


# ------------------------------------------------------------------ speculative transcription
@pytest.fixture(scope="module")
def no_comma(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No comma, so no pause inside the utterance: one pause, at its end."""
    from tests.conftest import speak

    return speak("hey computer what time is it", tmp_path_factory.mktemp("nc") / "nc.wav")


def test_paced_command_is_dispatched_at_the_pause(
    no_comma: Path, isolated_env: dict, tmp_path: Path
) -> None:
    """The transcript started at the pause matches a command well: it runs before the
    silence that ends the utterance is over. That silence is made long here (3 s), so the
    pause's transcription finishes within it on a slow CPU too (the default 500 ms leaves
    340 ms after the 160 ms pause: 0.2 s of model time on one machine here, 0.35 on
    another)."""
    from tests.conftest import sox

    padded = sox(no_comma, tmp_path / "padded.wav", "pad", "0", "3")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("vad:\n  min_silence_ms: 3000\n")
    code, events, err = run_agent(
        "--config", str(cfg), "run", "--input", str(padded), "--json", env=isolated_env
    )
    assert code == 0, err
    assert [u["reason"] for u in of(events, "utterance")] == ["early"]
    assert [c["command"] for c in of(events, "command")] == ["time_now"]
    stopped = of(events, "stopped")[0]
    assert stopped["early"] == 1 and stopped["transcriptions"] == 1


def test_speculative_transcript_is_reused_not_redone(
    no_comma: Path, isolated_env: dict, tmp_path: Path
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("plugins:\n  early_dispatch_score: 101\n")  # no early dispatch
    code, events, err = run_agent(
        "--config", str(cfg), "run", "--input", str(no_comma), "--json", env=isolated_env
    )
    assert code == 0, err
    assert [u["reason"] for u in of(events, "utterance")] == ["silence"]
    assert [c["command"] for c in of(events, "command")] == ["time_now"]
    assert of(events, "stopped")[0]["transcriptions"] == 1  # the pause's transcript, reused


def paused(tmp_path: Path, first: str, then: str, gap_s: float = 0.3) -> Path:
    """``first``, ``gap_s`` of silence, ``then``: one utterance with a pause inside it."""
    from tests.conftest import join, need, sox

    parts = []
    trim = ("silence", "1", "0.02", "1%", "reverse")
    for i, text in enumerate([first, then]):
        raw = tmp_path / f"raw{i}.wav"
        subprocess.run(
            [need("espeak-ng"), "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True
        )
        # espeak's own leading and trailing silence removed
        parts.append(sox(raw, tmp_path / f"t{i}.wav", *trim, *trim))
    gap = sox("-n", tmp_path / "gap.wav", "trim", "0", str(gap_s))
    return join(tmp_path / "joined.wav", parts[0], gap, parts[1], effects=("pad", "0.4", "1.0"))


def test_speech_resuming_after_a_pause_is_not_cut(isolated_env: dict, tmp_path: Path) -> None:
    """'set a timer for' ... 0.3 s ... 'five minutes': the pause's partial text matches
    nothing, so the agent waits and acts on the whole utterance."""
    joined = paused(tmp_path, "hey computer set a timer for", "five minutes")
    code, events, err = run_agent("run", "--input", str(joined), "--json", env=isolated_env)
    assert code == 0, err
    assert len(of(events, "utterance")) == 1, events
    cmds = of(events, "command")
    assert [(c["command"], c["slots"]) for c in cmds] == [("set_timer", {"minutes": 5})]


def test_a_slot_at_the_end_is_not_cut_at_a_pause(isolated_env: dict, tmp_path: Path) -> None:
    """'repeat after me the weather is' ... 'lovely today': the pause's partial text
    matches echo exactly, but its slot may go on, so the agent waits for the silence."""
    joined = paused(tmp_path, "hey computer repeat after me the weather is", "lovely today")
    code, events, err = run_agent("run", "--input", str(joined), "--json", env=isolated_env)
    assert code == 0, err
    assert [u["reason"] for u in of(events, "utterance")] == ["silence"], events
    cmds = of(events, "command")
    assert [c["command"] for c in cmds] == ["echo"], events
    assert "today" in cmds[0]["slots"]["text"].lower()
