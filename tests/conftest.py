"""Shared fixtures: spoken audio made with espeak-ng and sox, the agent as a subprocess,
and a PulseAudio daemon with a null sink for the real microphone path."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = bool(os.environ.get("CI"))


def pytest_report_header() -> str:
    """What computes the model here (the CPU, MKL or oneDNN): tiny.en's words on a clip near
    its limits can differ between machines, so a failure's log says which one it ran on."""
    from agent.transcribe import arithmetic

    return "arithmetic: " + ", ".join(f"{k} {v}" for k, v in arithmetic().items())


def need(tool: str) -> str:
    """The path of a command-line tool; in CI a missing tool fails the test, locally it skips."""
    path = shutil.which(tool)
    if path is None:
        if IN_CI:
            pytest.fail(f"{tool} is not installed (.ci/run installs it)")
        pytest.skip(f"{tool} is not installed")
    return path


def speak(text: str, out: Path, *, voice: str = "en-us", speed: int = 150) -> Path:
    """espeak-ng speech, converted to 16 kHz mono with 0.4 s of silence before and 1 s after."""
    raw = out.with_suffix(".raw.wav")
    subprocess.run(
        [need("espeak-ng"), "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True
    )
    sox(raw, out, "pad", "0.4", "1.0")
    raw.unlink()
    return out


def sox(src: Path | str, dst: Path, *effects: str, rate: int = 16000, channels: int = 1) -> Path:
    """``src`` converted to 16-bit ``rate``/``channels`` with ``effects``. Without dither
    (``-D``): sox dithers a rate change with random noise, so the same speech came out
    different on every run, and tiny.en hears borderline audio differently ("Okay da vu." /
    "Okay da move. Okay da move."): tests would pass or fail by chance."""
    subprocess.run(
        [
            need("sox"),
            "-D",
            str(src),
            "-r",
            str(rate),
            "-c",
            str(channels),
            "-b",
            "16",
            str(dst),
            *effects,
        ],
        check=True,
    )
    return dst


def join(dst: Path, *parts: Path | str, effects: tuple[str, ...] = ()) -> Path:
    """The clips one after another in ``dst`` (same format), then ``effects``; no dither."""
    subprocess.run([need("sox"), "-D", *map(str, parts), str(dst), *effects], check=True)
    return dst


class Fixtures:
    """Spoken commands and non-speech sounds, generated once per test session."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def make(self) -> Fixtures:
        r = self.root
        speak("hey computer, what time is it", r / "time.wav")
        speak("hey computer, what day is it today", r / "day.wav")
        speak("computer, what is the date", r / "date.wav")
        speak("the weather is lovely today and I am going for a walk", r / "no_wake.wav")
        speak("hey computer", r / "wake_only.wav")
        speak("what time is it", r / "bare_time.wav")
        speak("hey computer, set a timer for five minutes", r / "timer.wav")
        # The wake phrase, a pause, then the command: the follow-up window.
        join(r / "follow_up.wav", r / "wake_only.wav", r / "bare_time.wav")
        sox(r / "time.wav", r / "time_stereo_44k.wav", rate=44100, channels=2)
        sox(r / "time.wav", r / "time_48k.wav", rate=48000, channels=1)
        sox(r / "time.wav", r / "time_stereo_48k.wav", rate=48000, channels=2)
        # Non-speech: silence and noise (always with a length: `sox -n` alone never ends).
        sox("-n", r / "silence.wav", "trim", "0", "4")
        sox("-n", r / "noise.wav", "synth", "4", "whitenoise", "vol", "0.1")
        sox("-n", r / "brown.wav", "synth", "4", "brownnoise", "vol", "0.3")
        (r / "not_audio.wav").write_text("this is a text file, not a WAV\n")
        (r / "empty.wav").write_bytes(b"")
        data = (r / "time.wav").read_bytes()
        (r / "truncated.wav").write_bytes(data[:30])
        return self


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Fixtures:
    return Fixtures(tmp_path_factory.mktemp("audio")).make()


def voiceflow_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "agent", *args]


def parse_events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``voiceflow ARGS`` to completion, text output captured."""
    return subprocess.run(
        voiceflow_cmd(*args), capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout
    )


def run_agent(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> tuple[int, list[dict[str, Any]], str]:
    """Run ``voiceflow ARGS`` to completion; return (exit code, JSON events, stderr)."""
    proc = subprocess.run(
        voiceflow_cmd(*args),
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )
    out = proc.stdout.decode()
    return proc.returncode, parse_events(out), proc.stderr.decode()


def run_file(wav: Path, config: str, env: dict[str, str]) -> list[dict[str, Any]]:
    """``voiceflow run --fast --json --input WAV`` with ``config`` (YAML text) as its config
    file, written beside the clip; asserts it exits 0 and returns its events."""
    cfg = wav.parent / "config.yaml"
    cfg.write_text(config)
    code, evs, err = run_agent(
        "--config", str(cfg), "run", "--fast", "--json", "--input", str(wav), env=env
    )
    assert code == 0, err
    return evs


class HeardAs:
    """The real transcriber, except that every reading of the audio is ``raw``.

    For a test of what the agent does with one mishearing (the wake check, rescoring: both
    ask the real model about the real audio), whatever tiny.en writes on this machine.
    CTranslate2 computes differently on different CPUs (oneDNN on AMD's, MKL on Intel's;
    AVX2 or AVX-512), so its exact words on a clip near its limits differ between machines:
    "what made it today" on one is "what day is today" on another."""

    def __init__(self, model: Any, raw: str) -> None:
        self.model = model
        self.raw = raw

    async def transcribe(self, audio: Any) -> Any:
        from agent.transcribe import Transcript

        t = await self.model.transcribe(audio)
        return Transcript.of(self.raw, t.asr_ms, t.no_speech_prob, t.avg_logprob)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


@pytest.fixture(scope="session")
def tiny() -> Iterator[Any]:
    """The bundled model, loaded once, for tests that run the pipeline in process."""
    from agent.config import Config
    from agent.transcribe import Transcriber

    model = Transcriber(Config().model)
    yield model
    model.close()


def heard_as(
    wav: Path, raw: str | None, model: Any, config: Any = None, before: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The real pipeline, in process, on ``wav`` (paced as fast as it goes), with tiny.en
    made to write ``raw`` (``HeardAs``; None: what it hears) and the bundled plugins;
    returns its events as ``run_file`` does. ``config`` is a ``Config`` (default: the
    defaults); ``before``: commands run first, as text (``bench.run_pipeline``)."""

    from agent.bench import run_pipeline
    from agent.capture import read_file
    from agent.config import Config
    from agent.loader import load_plugins

    audio = read_file(wav)
    registry = load_plugins(["@bundled"], entry_points=False)
    heard = model if raw is None else HeardAs(model, raw)
    r = run_pipeline(config or Config(), audio, heard, registry, fast=True, before=before)
    return [e.to_dict() for e in r.seen]


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


@pytest.fixture()
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Environment with an empty XDG_CONFIG_HOME so a developer's own config is not read."""
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    return env


class StdinAgent:
    """``voiceflow run --input - --json`` with stdin held open, so it runs until signalled.

    100 ms of silence is written at once, so audio flows and the agent becomes ready.
    """

    def __init__(self, env: dict[str, str], config: Path | None = None) -> None:
        pre = ("--config", str(config)) if config is not None else ()
        self.proc = subprocess.Popen(
            voiceflow_cmd(*pre, "run", "--input", "-", "--json"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buf = b""
        self.feed(0.1)

    def feed(self, seconds: float) -> None:
        """Write ``seconds`` of silence."""
        self.stdin.write(b"\0\0" * int(16000 * seconds))
        self.stdin.flush()

    def events(self, timeout: float, until: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            chunk = self.proc.stdout.read() if self.proc.stdout else None
            if chunk:
                self.buf += chunk
            *lines, self.buf = self.buf.split(b"\n")
            for line in lines:
                if line.startswith(b"{"):
                    e = json.loads(line)
                    found.append(e)
                    if e["event"] == until:
                        return found
            time.sleep(0.05)
        raise AssertionError(f"no {until!r}; got {found}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.stdin.close()


# --------------------------------------------------------------------------- PulseAudio
class Pulse:
    def __init__(self, runtime: Path, env: dict[str, str]) -> None:
        self.runtime = runtime
        self.env = env
        self.pid: int | None = None

    def start(self) -> None:
        subprocess.run(
            [
                need("pulseaudio"),
                "-D",
                "-n",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "-L",
                "module-native-protocol-unix auth-anonymous=1",
                "-L",
                "module-null-sink sink_name=vsink rate=16000 channels=1",
                "-L",
                "module-always-sink",
            ],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=30,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if (
                subprocess.run(
                    [need("pactl"), "info"], env=self.env, capture_output=True
                ).returncode
                == 0
            ):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("PulseAudio did not come up")
        subprocess.run(
            [need("pactl"), "set-default-source", "vsink.monitor"], env=self.env, check=True
        )
        pidfile = self.runtime / "pulse" / "pid"
        self.pid = int(pidfile.read_text().split()[0]) if pidfile.exists() else None

    def stop(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            self.pid = None

    def play(self, wav: Path) -> None:
        subprocess.run(
            [need("paplay"), "--device=vsink", str(wav)], env=self.env, check=True, timeout=60
        )


@pytest.fixture(scope="session")
def pulse() -> Iterator[Pulse]:
    runtime = Path(tempfile.mkdtemp(prefix="vf-pulse-"))
    os.chmod(runtime, 0o700)
    env = dict(os.environ)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    env.pop("PULSE_SERVER", None)
    p = Pulse(runtime, env)
    p.start()
    try:
        yield p
    finally:
        p.stop()
        shutil.rmtree(runtime, ignore_errors=True)
