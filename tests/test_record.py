"""``voiceflow record``: a person's own voice as a manifest for ``voiceflow eval``.

The stages on their own (which prompts, how much audio, what is written), then the whole
path: the real microphone (PortAudio from a PulseAudio null sink's monitor, speech played
into the sink with ``paplay``) recorded by ``voiceflow record`` as a subprocess, and the
manifest it wrote measured by ``voiceflow eval`` with the real model.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from agent.capture import RATE, ArraySource, read_file
from agent.manifest import load_manifest
from agent.record import prompts, record, session, slug, start
from tests.conftest import REPO, Fixtures, Pulse, run_cli, voiceflow_cmd

PROMPTS = """\
clips:
- path: a.wav
  say: {text: 'hey computer, what time is it'}
  wake: hey computer
  command: clock.time_now
  tags: [en-us]
- path: b.wav
  say: {text: 'hey computer, what time is it', voice: en-gb}
  wake: hey computer
  command: clock.time_now
- path: c.wav
  say: {text: 'hey computer, set a timer for five minutes'}
  wake: hey computer
  command: timer.set_timer
  slots: {minutes: 5}
  text: hey computer set a timer for five minutes
- path: d.wav
  say: {text: 'the weather is lovely today'}
"""


def _prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.yaml"
    path.write_text(PROMPTS)
    return path


def test_one_prompt_per_thing_said_and_only_with_a_wake_phrase(tmp_path: Path) -> None:
    todo = prompts(load_manifest(_prompts(tmp_path)))
    assert [(c.say.text if c.say else None, c.command) for c in todo] == [
        ("hey computer, what time is it", "clock.time_now"),
        ("hey computer, set a timer for five minutes", "timer.set_timer"),
    ]
    assert (
        slug("Hey computer, set a timer for five minutes!")
        == "hey-computer-set-a-timer-for-five-minute"
    )
    assert slug("?!") == "clip"


def test_record_takes_the_seconds_asked_for_or_what_the_source_has() -> None:
    audio = np.linspace(-0.5, 0.5, 3 * RATE, dtype=np.float32)
    got = asyncio.run(record(ArraySource(audio, fast=True), 1.25))
    assert got.shape == (int(1.25 * RATE),)
    assert np.array_equal(got, audio[: got.shape[0]])
    assert asyncio.run(record(ArraySource(audio[:RATE], fast=True), 2.0)).shape == (RATE,)


def test_each_recording_is_written_at_once_and_a_second_speaker_adds_to_the_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    todo = prompts(load_manifest(_prompts(tmp_path)))
    out = tmp_path / "mine"
    tone = (0.3 * np.sin(np.arange(RATE) / 5)).astype(np.float32)

    def source() -> ArraySource:
        return ArraySource(tone, fast=True)

    for who in ("alice", "bob"):
        data = start(out, load_manifest(_prompts(tmp_path)))
        assert asyncio.run(session(todo, out, data, source, 0.5, [who], None)) == 2

    m = load_manifest(out / "manifest.yaml")
    assert [c.path.name for c in m.clips] == [
        "000-hey-computer-what-time-is-it.wav",
        "001-hey-computer-set-a-timer-for-five-minute.wav",
        "002-hey-computer-what-time-is-it.wav",
        "003-hey-computer-set-a-timer-for-five-minute.wav",
    ]
    assert [c.tags for c in m.clips] == [("recorded", "alice")] * 2 + [("recorded", "bob")] * 2
    timer = m.clips[1]
    assert (timer.wake, timer.command, timer.slots) == (
        "hey computer",
        "timer.set_timer",
        {"minutes": 5},
    )
    assert timer.text == "hey computer set a timer for five minutes"  # the reference, kept
    assert m.clips[0].text == "hey computer, what time is it"  # else the words said
    assert all(c.path.stat().st_size == 44 + RATE for c in m.clips)  # 0.5 s of 16-bit mono
    assert "[2/2] Say: hey computer, set a timer for five minutes" in capsys.readouterr().out

    # A clip whose entry was taken out of the manifest by hand is still not written over.
    data = start(out, load_manifest(_prompts(tmp_path)))
    del data["clips"][2:]  # bob's two entries; his clips/002-... stays on disk
    asyncio.run(session(todo[:1], out, data, source, 0.5, ["carol"], None))
    assert data["clips"][-1]["path"] == "clips/003-hey-computer-what-time-is-it.wav"
    assert (out / "clips/002-hey-computer-what-time-is-it.wav").exists()


def test_silence_is_kept_and_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    todo = prompts(load_manifest(_prompts(tmp_path)))[:1]
    data: dict[str, Any] = {"clips": []}
    silent = np.zeros(RATE, np.float32)
    asyncio.run(session(todo, tmp_path, data, lambda: ArraySource(silent, fast=True), 1, [], None))
    assert "nothing was heard" in capsys.readouterr().out
    assert len(load_manifest(tmp_path / "manifest.yaml").clips) == 1


def test_at_a_terminal_a_silent_take_is_asked_for_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    todo = prompts(load_manifest(_prompts(tmp_path)))[:1]
    data: dict[str, Any] = {"clips": []}
    takes = iter([np.zeros(RATE, np.float32), np.full(RATE, 0.25, np.float32)])
    enters: list[int] = []
    asyncio.run(
        session(
            todo,
            tmp_path,
            data,
            lambda: ArraySource(next(takes), fast=True),
            1,
            [],
            lambda: enters.append(1),
        )
    )
    assert len(enters) == 2  # Enter before each take
    assert "Once more" in capsys.readouterr().out
    (clip,) = load_manifest(tmp_path / "manifest.yaml").clips
    assert np.max(read_file(clip.path)) > 0.2  # the second take


def test_bad_input_is_said_and_nothing_recorded(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    talk = tmp_path / "talk.yaml"
    talk.write_text("clips:\n- {path: d.wav, say: {text: the weather is lovely}}\n")
    done = run_cli("record", str(talk), str(tmp_path / "out"), env=isolated_env)
    assert done.returncode == 2
    assert "no clip with a wake phrase to say" in done.stderr
    done = run_cli(
        "record", str(_prompts(tmp_path)), str(tmp_path / "out"), "--seconds", "0", env=isolated_env
    )
    assert done.returncode == 2 and "--seconds" in done.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.yaml").write_text("clips: 3\n")
    done = run_cli("record", str(_prompts(tmp_path)), str(broken), env=isolated_env)
    assert done.returncode == 2 and "clips: must be a list" in done.stderr
    assert not (tmp_path / "out").exists()


def test_no_microphone_is_said_before_the_first_prompt(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(isolated_env)
    env["XDG_RUNTIME_DIR"] = str(tmp_path)  # no PulseAudio here
    env.pop("PULSE_SERVER", None)
    done = run_cli("record", str(_prompts(tmp_path)), str(tmp_path / "out"), env=env)
    assert done.returncode == 1
    assert "microphone" in done.stderr and "Traceback" not in done.stderr
    assert "Say:" not in done.stdout
    assert not (tmp_path / "out").exists()


def test_a_voice_recorded_through_the_microphone_is_measured_by_eval(
    pulse: Pulse, fixtures: Fixtures, isolated_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(isolated_env)
    env["XDG_RUNTIME_DIR"] = pulse.env["XDG_RUNTIME_DIR"]
    out = tmp_path / "mine"
    proc = subprocess.Popen(
        voiceflow_cmd("record", str(_prompts(tmp_path)), str(out), "--seconds", "4", "--tag", "me"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
        text=True,
    )
    said = iter([fixtures.path("time.wav"), fixtures.path("timer.wav")])
    lines: list[str] = []
    assert proc.stdout is not None
    timer = threading.Timer(90, proc.kill)  # a hang fails the test instead of the run
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.strip().startswith("recording"):
                pulse.play(next(said))  # said while it records, as a person would
        assert proc.wait(30) == 0, "".join(lines) + proc.stderr.read()
    finally:
        timer.cancel()
        proc.kill()
    assert "2 clips in" in lines[-1]

    done = run_cli("eval", str(out / "manifest.yaml"), "--json", env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["wake_detected"] == 2
    assert report["command_correct"] == 2, report
    assert report["by_tag"]["me"]["clips"] == 2
    clips = yaml.safe_load((out / "manifest.yaml").read_text())["clips"]
    assert [c["command"] for c in clips] == ["clock.time_now", "timer.set_timer"]
