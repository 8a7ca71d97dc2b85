"""The real microphone path: PortAudio capture from a PulseAudio null sink's monitor.

A PulseAudio daemon with a null sink is started for the session; the agent runs with no
``--input`` (the default input device, which ALSA routes to PulseAudio), and ``paplay``
plays a spoken command into the sink. Nothing here is simulated.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, Fixtures, Pulse, voiceflow_cmd


class Agent:
    """``voiceflow run --json`` as a subprocess, its events read as they come."""

    def __init__(self, env: dict[str, str], *args: str, config: Path | None = None) -> None:
        pre = ("--config", str(config)) if config is not None else ()
        self.proc = subprocess.Popen(
            voiceflow_cmd(*pre, "run", "--json", *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
            text=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stderr = ""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.put(json.loads(line))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr += line

    def wait_for(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                e = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.events.empty():
                    break
                continue
            self.seen.append(e)
            if e["event"] == kind:
                return e
        raise AssertionError(f"no {kind!r} event; saw {self.seen}; stderr:\n{self.stderr}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def agent_env(pulse: Pulse, isolated_env: dict[str, str]) -> dict[str, str]:
    env = dict(isolated_env)
    env["XDG_RUNTIME_DIR"] = pulse.env["XDG_RUNTIME_DIR"]
    return env


@contextmanager
def playing(pulse: Pulse, isolated_env: dict[str, str], path: Path) -> Iterator[Agent]:
    """The agent listening on the default microphone, with ``path`` played into the null
    sink once it is ready; stopped with SIGTERM afterwards, which must end it cleanly."""
    agent = Agent(agent_env(pulse, isolated_env))
    try:
        agent.wait_for("ready", timeout=60)
        time.sleep(1.0)  # let capture settle
        pulse.play(path)
        yield agent
    finally:
        code = agent.stop(signal.SIGTERM)
    assert code == 0, agent.stderr


@pytest.mark.parametrize("name", ["time.wav", "time_stereo_44k.wav"])
def test_microphone_dispatches_a_spoken_command(
    pulse: Pulse, fixtures: Fixtures, isolated_env: dict[str, str], name: str
) -> None:
    with playing(pulse, isolated_env, fixtures.path(name)) as agent:
        (ready,) = [e for e in agent.seen if e["event"] == "ready"]
        assert ready["source"].startswith("microphone")
        cmd = agent.wait_for("command", timeout=30)
        assert (cmd["plugin"], cmd["command"]) == ("clock", "time_now")
        assert 0 < cmd["latency_ms"] < 10_000
    assert agent.wait_for("stopped", timeout=5)["commands"] == 1


def test_sigint_stops_cleanly(pulse: Pulse, isolated_env: dict[str, str]) -> None:
    agent = Agent(agent_env(pulse, isolated_env))
    agent.wait_for("ready", timeout=60)
    started = time.monotonic()
    assert agent.stop(signal.SIGINT) == 0
    assert time.monotonic() - started < 5
    assert "Traceback" not in agent.stderr


def test_no_audio_server_is_a_clear_message(isolated_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(isolated_env)
    env["XDG_RUNTIME_DIR"] = str(tmp_path)  # no PulseAudio here
    env.pop("PULSE_SERVER", None)
    proc = subprocess.run(
        voiceflow_cmd("run"), capture_output=True, text=True, env=env, timeout=60, cwd=REPO
    )
    assert proc.returncode == 1
    assert "voiceflow: " in proc.stderr
    assert "microphone" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_microphone_in_a_noisy_room(
    pulse: Pulse, isolated_env: dict[str, str], tmp_path: Path
) -> None:
    """Two seconds of steady white noise, then a command spoken over it at 10 dB SNR,
    played into the null sink: the agent measures the noise before the speech, takes it out
    of the utterance (``audio.denoise: auto``) and hears the command."""

    import numpy as np

    from agent.capture import RATE, read_file, write_wav
    from agent.clips import synthesize
    from agent.manifest import Clip, Say
    from tests.test_denoise import NOISY

    clip = tmp_path / "clip.wav"
    synthesize(Clip(path=clip, say=Say(*NOISY, snr_db=10.0)))
    audio = read_file(clip)
    noise_rms = float(np.sqrt(np.mean(audio[: int(0.3 * RATE)] ** 2)))
    rng = np.random.default_rng(7)
    lead = (rng.standard_normal(2 * RATE) * noise_rms).astype(np.float32)
    room = tmp_path / "room.wav"
    write_wav(room, np.concatenate([lead, audio]))
    with playing(pulse, isolated_env, room) as agent:
        utt = agent.wait_for("utterance", timeout=30)
        assert utt["denoised"] is True and 8.0 < utt["snr_db"] < 13.0
        cmd = agent.wait_for("command", timeout=30)
        assert (cmd["command"], cmd["slots"]) == ("set_timer", {"minutes": 5})


def test_microphone_hears_a_natural_voice(
    pulse: Pulse, isolated_env: dict[str, str], tmp_path: Path
) -> None:
    """Piper's joe, a neural voice learned from a man's recordings, asks for a reminder
    with free text into the null sink: the agent records it through PortAudio and runs the
    reminder with the words and the time said."""
    from agent.clips import synthesize
    from agent.manifest import Clip, Say

    clip = tmp_path / "joe.wav"
    text = "hey computer, remind me to call the doctor in twenty minutes"
    synthesize(Clip(path=clip, say=Say(text, "joe", 160, engine="piper")))
    with playing(pulse, isolated_env, clip) as agent:
        cmd = agent.wait_for("command", timeout=30)
        assert (cmd["plugin"], cmd["command"]) == ("notify", "remind")
        assert cmd["slots"] == {"text": "call the doctor", "duration": 1200}
