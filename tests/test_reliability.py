"""Reliability: bad audio, overload, hallucinations, long runs. Every test runs the real
pipeline with the real tiny.en model (in-process here, so one model load serves them all;
the same code is what ``voiceflow run`` runs). See docs/RELIABILITY.md."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from faster_whisper.transcribe import get_compression_ratio

from agent import events
from agent.bench import RunResult, rss_mb, run_pipeline
from agent.buffer import BlockQueue
from agent.capture import RATE, ArraySource, StdinSource, decode_file, read_file
from agent.config import Config
from agent.loader import Registry, load_plugins
from agent.log import close_logger, make_logger
from agent.pipeline import Pipeline
from agent.ratelimit import RateLimiter
from agent.recognize import MAX_COMPRESSION
from agent.sanitize import Sanitizer
from agent.service import Notifier
from agent.transcribe import Transcriber
from tests.conftest import (
    REPO,
    Fixtures,
    heard_as,
    join,
    need,
    of,
    parse_events,
    run_agent,
    speak,
    voiceflow_cmd,
)

CONFIG = Config()


@pytest.fixture(scope="module")
def model() -> Transcriber:
    return Transcriber(CONFIG.model)


@pytest.fixture(scope="module")
def registry() -> Registry:
    p = CONFIG.plugins
    return load_plugins(p.dirs, p.settings, p.entry_points)


@pytest.fixture(scope="module")
def speech(fixtures: Fixtures) -> np.ndarray:
    """ "hey computer, what time is it" as 16 kHz mono float32."""
    return read_file(fixtures.path("time.wav"))


def run(audio: np.ndarray, model: Transcriber, registry: Registry, config: Config = CONFIG):
    return run_pipeline(config, audio, model, registry, fast=True)


def commands(r: RunResult) -> list[str]:
    return [f"{c.plugin}.{c.command}" for c in r.of(events.Command)]


def stopped(r: RunResult) -> events.Stopped:
    s = r.of(events.Stopped)
    assert len(s) == 1
    return s[0]


# --------------------------------------------------------------------------- bad audio
def _nan_inf(x: np.ndarray) -> np.ndarray:
    y = x.copy()
    y[::997] = np.nan
    y[5::1499] = np.inf
    y[7::1999] = -np.inf
    return y


BAD_SPEECH: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "int16": lambda x: (x * 32767).astype(np.int16),
    "int32": lambda x: (x * 2147483647).astype(np.int32),
    "float64": lambda x: x.astype(np.float64),
    "stereo": lambda x: np.stack([x, x], axis=1),
    "8 channels": lambda x: np.stack([x] + [0.5 * x] * 7, axis=1),
    "8 channels int16": lambda x: (np.stack([x] * 8, axis=1) * 32767).astype(np.int16),
    "dc offset 0.3": lambda x: x + np.float32(0.3),
    "full-scale clipping": lambda x: np.clip(x * 6, -1, 1).astype(np.float32),
    "beyond full scale": lambda x: x * np.float32(3.0),
    "nan and inf": _nan_inf,
}


@pytest.mark.parametrize("kind", list(BAD_SPEECH))
def test_odd_but_usable_audio_is_sanitised_and_understood(
    speech: np.ndarray, model: Transcriber, registry: Registry, kind: str
) -> None:
    audio = BAD_SPEECH[kind](speech)
    r = run(audio, model, registry)
    assert commands(r) == ["clock.time_now"], [e for e in r.seen]
    fixed = stopped(r).fixed_blocks
    if kind in ("nan and inf",):
        assert fixed.get("nonfinite", 0) > 0
    if kind in ("beyond full scale",):
        assert fixed.get("clipped", 0) > 0
    if kind in ("int16", "int32", "float64", "stereo", "8 channels", "8 channels int16"):
        assert fixed.get("converted", 0) > 0


BAD_SILENCE: dict[str, np.ndarray] = {
    "all zeros": np.zeros(RATE * 8, dtype=np.float32),
    "all NaN": np.full(RATE * 5, np.nan, dtype=np.float32),
    "all +Inf": np.full(RATE * 5, np.inf, dtype=np.float32),
    "constant DC": np.full(RATE * 8, 0.5, dtype=np.float32),
    "full-scale square wave": np.sign(np.sin(np.arange(RATE * 5) * 2 * np.pi * 50 / RATE)).astype(
        np.float32
    ),
    "int16 zeros, 3 channels": np.zeros((RATE * 5, 3), dtype=np.int16),
}


@pytest.mark.parametrize("kind", list(BAD_SILENCE))
def test_broken_streams_produce_nothing(model: Transcriber, registry: Registry, kind: str) -> None:
    r = run(BAD_SILENCE[kind], model, registry)
    assert commands(r) == [] and r.of(events.Wake) == []
    stopped(r)


def test_nan_stream_is_reported_once(model: Transcriber, registry: Registry) -> None:
    r = run(BAD_SILENCE["all NaN"], model, registry)
    fixed = r.of(events.AudioFixed)
    assert [f.kind for f in fixed] == ["nonfinite"]
    assert stopped(r).fixed_blocks["nonfinite"] == RATE * 5 // 512 + 1


def test_sanitizer_output_is_always_clean() -> None:
    rng = np.random.default_rng(1)
    s = Sanitizer()
    for dtype in (np.float32, np.float64, np.int16, np.int32, np.uint8):
        for channels in (None, 1, 2, 5, 8):
            shape = (512,) if channels is None else (512, channels)
            if np.issubdtype(dtype, np.integer):
                info = np.iinfo(dtype)
                block = rng.integers(info.min, info.max, size=shape, dtype=dtype)
            else:
                block = (rng.standard_normal(shape) * 4).astype(dtype)
                block.flat[::50] = np.nan
                block.flat[1::70] = np.inf
            out = s.clean(block)
            assert out.dtype == np.float32 and out.ndim == 1 and out.shape[0] == 512
            assert np.isfinite(out).all() and np.abs(out).max() <= 1.0 + 1e-6


def test_sanitizer_scales_integers_and_removes_dc() -> None:
    s = Sanitizer()
    out = s.clean(np.full(512, -32768, dtype=np.int16))
    assert out.min() >= -1.0
    s = Sanitizer()
    tone = 0.2 * np.sin(np.arange(512 * 94) * 2 * np.pi * 440 / RATE).astype(np.float32)
    blocks = [s.clean(b) for b in np.split(tone + np.float32(0.4), 94)]
    assert abs(float(np.mean(blocks[-1]))) < 0.02  # the offset is gone after ~3 s


def test_sanitizer_leaves_clean_float32_alone() -> None:
    s = Sanitizer()
    block = (0.1 * np.sin(np.arange(512) / 10)).astype(np.float32)
    assert s.clean(block) is block
    assert s.counts == {"nonfinite": 0, "clipped": 0, "converted": 0}


def test_block_queue_scales_integer_blocks() -> None:
    q = BlockQueue(4, 512)
    q.put(np.full((512, 2), 16384, dtype=np.int16))
    slot = q.pop()
    assert slot is not None
    samples, _ = q.view(slot)
    assert np.allclose(samples, 0.5)


@pytest.mark.parametrize(
    ("rate", "channels", "encoding"),
    [
        (8000, 1, "signed-integer -b 16"),
        (48000, 8, "signed-integer -b 32"),
        (22050, 3, "floating-point -b 64"),
    ],
)
def test_any_rate_channels_and_sample_format_through_the_cli(
    fixtures: Fixtures, isolated_env: dict, tmp_path: Path, rate: int, channels: int, encoding: str
) -> None:
    out = tmp_path / f"time_{rate}_{channels}.wav"
    subprocess.run(
        [
            need("sox"),
            "-D",  # no dither: the same file every run
            str(fixtures.path("time.wav")),
            "-r",
            str(rate),
            "-c",
            str(channels),
            "-e",
            *encoding.split(),
            str(out),
        ],
        check=True,
    )
    code, evs, err = run_agent("run", "--input", str(out), "--fast", "--json", env=isolated_env)
    assert code == 0 and "Traceback" not in err, err
    assert of(evs, "wake"), evs
    if rate >= 16000:
        assert [c["command"] for c in of(evs, "command")] == ["time_now"], evs
    # 8 kHz (telephone band) is decoded and heard, but tiny.en mishears part of it at
    # times ("one time in it"): an accuracy limit, not a fault (docs/RELIABILITY.md).


@pytest.mark.parametrize("block", [1, 512, 4096, 16000 * 60])
def test_a_file_decodes_to_the_same_samples_in_blocks_of_any_size(
    fixtures: Fixtures, block: int
) -> None:
    """``decode_file`` yields full blocks and then what is left; joined, they are the
    whole file as ``read_file`` returns it, whatever the block size."""
    whole = read_file(fixtures.path("time.wav"))
    assert whole.dtype == np.float32 and whole.ndim == 1 and whole.shape[0] > RATE
    blocks = list(decode_file(fixtures.path("time.wav"), block=block))
    assert all(b.shape[0] == block for b in blocks[:-1])
    assert 0 < blocks[-1].shape[0] <= block
    assert np.array_equal(np.concatenate(blocks), whole)


def test_corrupt_wav_is_a_clear_error_or_noise(
    fixtures: Fixtures, isolated_env: dict, tmp_path: Path
) -> None:
    """A WAV whose header is fine but whose data is garbage plays as noise: no command, no
    traceback. One whose header is garbage is a one-line error."""
    data = fixtures.path("time.wav").read_bytes()
    rng = np.random.default_rng(3)
    garbage_data = tmp_path / "garbage_data.wav"
    garbage_data.write_bytes(
        data[:44] + rng.integers(0, 256, len(data) - 44, dtype=np.uint8).tobytes()
    )
    code, evs, err = run_agent(
        "run", "--input", str(garbage_data), "--fast", "--json", env=isolated_env
    )
    assert code == 0 and "Traceback" not in err, err
    assert of(evs, "command") == []
    garbage_head = tmp_path / "garbage_head.wav"
    garbage_head.write_bytes(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    code, evs, err = run_agent(
        "run", "--input", str(garbage_head), "--fast", "--json", env=isolated_env
    )
    assert code == 1 and "Traceback" not in err, err
    assert f"{garbage_head}: cannot read audio" in err
    assert len(err.strip().splitlines()) == 1
    # Cut in the middle of the data: what is there is used.
    half = tmp_path / "half.wav"
    half.write_bytes(data[: len(data) * 2 // 3])
    code, evs, err = run_agent("run", "--input", str(half), "--fast", "--json", env=isolated_env)
    assert code == 0 and "Traceback" not in err, err
    assert of(evs, "stopped")


@pytest.mark.parametrize("name", ["not_audio.wav", "empty.wav", "truncated.wav"])
def test_transcribe_rejects_unreadable_files_in_one_line(
    fixtures: Fixtures, isolated_env: dict, name: str
) -> None:
    code, _evs, err = run_agent("transcribe", str(fixtures.path(name)), env=isolated_env)
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(fixtures.path(name)) in err


# --------------------------------------------------------------------------- overload
class StalledTranscriber:
    """The real transcriber, whose worker thread first sleeps ``stall_s`` (a slow machine,
    a swapped-out model): every transcription queues up behind the stall."""

    def __init__(self, inner: Transcriber, stall_s: float) -> None:
        self.inner = inner
        self.stall_s = stall_s
        self.stalled = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def transcribe(self, audio: np.ndarray) -> Any:
        if not self.stalled:
            self.stalled = True
            self.inner._executor.submit(time.sleep, self.stall_s)
        return await self.inner.transcribe(audio)


class NotifySocket:
    """A stand-in for systemd's notify socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.messages: list[str] = []

    def read(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.messages


def feed_paced(fd: int, audio: np.ndarray, block: int = 512) -> threading.Thread:
    """Write ``audio`` as s16le into ``fd`` at real-time pace, like a sound card."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")

    def run() -> None:
        start = time.monotonic()
        for i in range(0, pcm.shape[0], block):
            os.write(fd, pcm[i : i + block].tobytes())
            delay = start + (i + block) / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        os.close(fd)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def trim(x: np.ndarray) -> np.ndarray:
    """Without the leading and trailing silence."""
    loud = np.flatnonzero(np.abs(x) > 0.01)
    return x[loud[0] : loud[-1] + 1]


@pytest.fixture(scope="module")
def short_commands(fixtures: Fixtures, tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("short")
    return {
        "time": trim(read_file(speak("computer, what time is it", d / "t.wav", speed=190))),
        "date": trim(read_file(fixtures.path("date.wav"))),
    }


def test_stalled_worker_drops_under_policy_reports_and_catches_up(
    short_commands: dict[str, np.ndarray],
    model: Transcriber,
    registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model worker stalls for 5 s while a burst of commands keeps coming from a live
    source (raw PCM through a pipe, read by a thread into the BlockQueue, as the microphone
    callback does). Capture never waits, the waiting utterances stay bounded (the oldest is
    dropped and counted), drops are reported as events and in STATUS=, and the command
    spoken after the stall is answered."""
    import agent.pipeline

    monkeypatch.setattr(agent.pipeline, "UTTERANCE_QUEUE", 1)
    gap = np.zeros(int(RATE * 0.7), dtype=np.float32)
    audio = np.concatenate(
        [gap]
        + [short_commands["time"], gap] * 8
        + [np.zeros(RATE * 6, np.float32)]
        + [short_commands["date"], np.zeros(RATE * 2, np.float32)]
    )
    sock = NotifySocket(tmp_path / "notify")
    read_fd, write_fd = os.pipe()
    source = StdinSource(os.fdopen(read_fd, "rb"), queue_s=2.0)
    put_times: list[float] = []
    put = source.queue.put

    def timed_put(block: np.ndarray) -> None:
        t0 = time.perf_counter()
        put(block)
        put_times.append(time.perf_counter() - t0)

    source.queue.put = timed_put  # type: ignore[method-assign]
    config = dataclasses.replace(
        CONFIG,
        model=dataclasses.replace(CONFIG.model, max_transcriptions_per_s=50.0),
        plugins=dataclasses.replace(CONFIG.plugins, watch=False, fallback="silent"),
    )
    seen: list[events.Event] = []

    class Sink(events.EventSink):
        def emit(self, event: events.Event) -> None:
            seen.append(event)

    async def go() -> Pipeline:
        log = make_logger("error")
        notifier = Notifier({"NOTIFY_SOCKET": str(sock.path)})
        p = Pipeline(
            config,
            source,
            StalledTranscriber(model, 5.0),
            registry,
            Sink(True),
            log,  # type: ignore[arg-type]
            notifier=notifier,
        )
        feed_paced(write_fd, audio)
        await p.run()
        await close_logger(log)
        return p

    p = asyncio.run(go())
    done = [f"{e.plugin}.{e.command}" for e in seen if isinstance(e, events.Command)]
    assert done[-1] == "clock.date_today", "\n".join(map(repr, seen))  # caught up
    assert p.queue_peak <= 1
    assert p.dropped_utterances > 0
    drops = [e for e in seen if isinstance(e, events.Dropped)]
    assert drops and drops[-1].utterances == p.dropped_utterances
    assert any(
        "dropped utterances" in m and "STATUS=" in m and " 0 dropped utterances" not in m
        for m in sock.read()
    )
    # The producer (the callback's side) never waited for the stalled worker: each put is a
    # copy. Wall-clock time of a Python thread includes waits for the GIL (5 ms switch
    # interval, three busy threads on two cores), so the bound on the slowest put is a
    # fraction of the 5 s stall it would show if it waited for the consumer, and the typical
    # put must be well under a millisecond.
    assert len(put_times) >= audio.shape[0] // 512
    assert statistics.median(put_times) < 0.001, statistics.median(put_times)
    assert max(put_times) < 0.5, max(put_times)
    assert source.dropped == 0  # the loop kept up; only the model was slow
    assert p.dispatcher.commands + p.dropped_utterances >= 1


BLOCKER = """
import asyncio, time
from agent.plugin import command

@command("what time is it")
async def block_the_loop(ctx):
    time.sleep(3)  # wrong: blocks the event loop
    return "done blocking"

@command("what is the date")
async def fine(ctx):
    return "a fine day"
"""


STOP_RACE = """
import asyncio, sys, threading, time
import numpy as np
from agent.buffer import BlockQueue
from agent.capture import drain_queue

async def main():
    rng = np.random.default_rng(3)
    block = np.zeros((16, 1), np.float32)
    for trial in range(200):
        q = BlockQueue(64, 16)
        flood, ended = threading.Event(), threading.Event()
        def produce():
            while not flood.is_set():
                q.put(block)
                time.sleep(0.0003)
        producer = threading.Thread(target=produce, daemon=True)
        producer.start()
        async def consume():
            async for _ in drain_queue(q, None, ended.is_set):
                await asyncio.sleep(0)
        task = asyncio.create_task(consume())
        await asyncio.sleep(float(rng.uniform(0.001, 0.01)))
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        flood.set()
        ended.set()
        producer.join()
        if not done:
            print(f"stop {trial} lost")
            return 1
    print("200 stops")
    return 0

sys.exit(asyncio.run(main()))
"""


def test_stopping_is_never_lost_while_audio_floods_in(tmp_path: Path) -> None:
    """SIGTERM cancels the listener while blocks arrive every few hundred microseconds.
    ``asyncio.wait_for`` (before Python 3.12) swallows a cancellation that lands as the wait
    ends; the capture hand-off waited with it, and about one stop in three of the
    microphone test hung (this check lost the second of its stops). 200 stops at random
    moments must each end the consumer; in a subprocess, so a regression fails, not hangs."""
    import sys

    script = tmp_path / "race.py"
    script.write_text(STOP_RACE)
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "200 stops", proc.stdout + proc.stderr


def test_a_handler_blocking_the_loop_is_detected_and_audio_drops_are_reported(
    fixtures: Fixtures, isolated_env: dict, tmp_path: Path
) -> None:
    """Through the real agent: a plugin calls time.sleep(3) on the loop while audio keeps
    arriving on stdin at real time. The capture queue (1 s here) overflows, the oldest
    blocks are dropped and counted, reported as events and in STATUS=; the block is
    reported naming the plugin, and the next command is answered."""
    plugin_dir = tmp_path / "p"
    plugin_dir.mkdir()
    (plugin_dir / "blocker.py").write_text(BLOCKER)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"audio:\n  queue_s: 1.0\nplugins:\n  dirs: ['{plugin_dir}']\n")
    sock = NotifySocket(tmp_path / "notify")
    env = dict(isolated_env, NOTIFY_SOCKET=str(sock.path))
    audio = np.concatenate(
        [
            read_file(fixtures.path("time.wav")),
            np.zeros(RATE * 5, np.float32),
            read_file(fixtures.path("date.wav")),
            np.zeros(RATE * 2, np.float32),
        ]
    )
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        voiceflow_cmd("--config", str(cfg), "run", "--input", "-", "--json"),
        stdin=read_fd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(read_fd)
    feed_paced(write_fd, audio)
    out, err = proc.communicate(timeout=60)
    evs = parse_events(out.decode())
    err_text = err.decode()
    assert proc.returncode == 0, err_text
    blocked = of(evs, "loop_blocked")
    assert blocked and blocked[0]["seconds"] >= 2.5
    assert blocked[0]["running"] == ["blocker.block_the_loop"]
    assert "event loop was blocked" in err_text and "blocker.block_the_loop" in err_text
    drops = of(evs, "dropped")
    assert drops and drops[-1]["blocks"] > 0
    assert of(evs, "stopped")[0]["dropped_blocks"] == drops[-1]["blocks"]
    assert of(evs, "stopped")[0]["loop_blocked"] == 1
    assert [c["reply"] for c in of(evs, "command")] == ["done blocking", "a fine day"]
    status = [m for m in sock.read() if "STATUS=" in m]
    assert any(" 0 dropped blocks" not in m and "dropped blocks" in m for m in status), status


# --------------------------------------------------------------------------- plugin faults
FAULTY = """
import asyncio, threading
from agent.plugin import command

@command("throw an error")
async def boom(ctx):
    raise RuntimeError("kaboom")

@command("wait forever")
async def wait_forever(ctx):
    await asyncio.Event().wait()

@command("sleep forever")
def sleep_forever(ctx):
    threading.Event().wait()  # a plain def that never returns

@command("talk a lot")
async def spam(ctx):
    for i in range(10000):
        ctx.say(f"spam {i}")
    return "said it all"
"""


def test_faulty_plugins_never_stop_the_agent(isolated_env: dict, tmp_path: Path) -> None:
    """Through the real agent: a handler that raises, one that hangs forever on the loop,
    one that hangs forever in its thread, one that spams ``say``, and a plugin that fails
    to import. Each is reported; after each the agent answers "what time is it"; and the
    agent still exits 0 at the end, without waiting for the thread that never returns."""
    plugin_dir = tmp_path / "p"
    plugin_dir.mkdir()
    (plugin_dir / "faulty.py").write_text(FAULTY)
    (plugin_dir / "broken.py").write_text("import no_such_module_at_all\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"plugins:\n  dirs: ['@bundled', '{plugin_dir}']\n  timeout_s: 2\n")
    parts = []
    for phrase in ("throw an error", "wait forever", "sleep forever", "talk a lot"):
        parts += [f"hey computer, {phrase}", "hey computer, what time is it"]
    wavs = [speak(text, tmp_path / f"{i}.wav") for i, text in enumerate(parts)]
    both = tmp_path / "all.wav"
    join(both, *wavs)
    started = time.monotonic()
    code, evs, err = run_agent(
        "--config",
        str(cfg),
        "run",
        "--input",
        str(both),
        "--fast",
        "--json",
        env=isolated_env,
        timeout=120,
    )
    assert code == 0, err
    assert time.monotonic() - started < 60
    assert "Traceback" not in err
    assert "broken.py" in err and "no_such_module_at_all" in err  # load error, named
    errors = [(e["command"], e["error"]) for e in of(evs, "command_error")]
    assert errors == [
        ("boom", "RuntimeError: kaboom"),
        ("wait_forever", "timed out after 2 s"),
        ("sleep_forever", "timed out after 2 s"),
    ], errors
    done = [(c["plugin"], c["command"]) for c in of(evs, "command")]
    assert done.count(("clock", "time_now")) == 4, done
    assert ("faulty", "spam") in done
    spam = [s for s in of(evs, "say") if s["plugin"] == "faulty"]
    assert 1 <= len(spam) <= 20  # the rest was dropped, not printed 10000 times
    assert "says too much" in err
    assert "still running after the grace period" in err


# --------------------------------------------------------------------------- hallucination
def _tone(freqs: list[float], seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (level * sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)).astype(np.float32)


def _music(seconds: float) -> np.ndarray:
    """A melody of notes with harmonics and a beat."""
    rng = np.random.default_rng(5)
    notes = [261.6, 293.7, 329.6, 349.2, 392.0, 440.0, 493.9, 523.3]
    out = []
    for _ in range(int(seconds / 0.25)):
        f = notes[rng.integers(len(notes))]
        note = _tone([f, 2 * f, 3 * f], 0.25, 0.4)
        note *= np.exp(-np.arange(note.shape[0]) / (RATE * 0.12)).astype(np.float32)
        out.append(note)
    music = np.concatenate(out)
    beat = np.zeros_like(music)
    beat[:: RATE // 2] = 0.8
    return np.clip(music + np.convolve(beat, np.hanning(200), "same").astype(np.float32), -1, 1)


def _breathing(seconds: float) -> np.ndarray:
    """Breaths: low-passed noise under a slow rise-and-fall envelope, 4 s a breath."""
    rng = np.random.default_rng(6)
    n = int(RATE * seconds)
    noise = np.convolve(rng.standard_normal(n), np.ones(8) / 8, "same")
    env = np.clip(np.sin(2 * np.pi * np.arange(n) / (RATE * 4)), 0, None) ** 2
    return (0.15 * noise * env).astype(np.float32)


def _noise(seconds: float, level: float, colour: str) -> np.ndarray:
    rng = np.random.default_rng(4)
    x = rng.standard_normal(int(RATE * seconds))
    if colour == "brown":
        x = np.cumsum(x)
        x -= np.convolve(x, np.ones(400) / 400, "same")
        x /= np.abs(x).max()
    return (level * x).astype(np.float32)


NON_SPEECH: dict[str, Callable[[], np.ndarray]] = {
    "silence": lambda: np.zeros(RATE * 10, np.float32),
    "white noise quiet": lambda: _noise(10, 0.01, "white"),
    "white noise loud": lambda: _noise(10, 0.3, "white"),
    "brown noise": lambda: _noise(10, 0.5, "brown"),
    "hum 50 Hz": lambda: _tone([50, 100, 150], 10),
    "tone 440 Hz": lambda: _tone([440], 10),
    "chord": lambda: _tone([261.6, 329.6, 392.0], 10),
    "sweeping tone": lambda: (
        0.3 * np.sin(2 * np.pi * np.cumsum(np.linspace(200, 2000, RATE * 10)) / RATE)
    ).astype(np.float32),
    "music": lambda: _music(15),
    "breathing": lambda: _breathing(16),
    "clicks": lambda: (
        np.tile(np.r_[np.ones(40), np.zeros(RATE // 3 - 40)], 30).astype(np.float32) * 0.9
    ),
}


@pytest.mark.parametrize("kind", list(NON_SPEECH))
def test_non_speech_never_dispatches(model: Transcriber, registry: Registry, kind: str) -> None:
    r = run(NON_SPEECH[kind](), model, registry)
    assert commands(r) == [] and r.of(events.Wake) == [], [e for e in r.seen]
    stopped(r)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("Thank you for watching!", "phantom"),
        (" Thanks for watching.", "phantom"),
        ("[Music]", "phantom"),
        ("(upbeat music)", "phantom"),
        ("\u266a \u266a", "phantom"),
        ("you", "phantom"),
        ("Hey computer, what time is it?", None),
        ("Thank you, computer, what time is it", None),
        # loops: one phrase over and over counts once, a word or two over and over is noise
        ("Hey computer, what time is it? " * 4 + "Hey computer", None),
        ("Thank you for watching! " * 6, "phantom"),
        ("Thank you. Thank you.", "phantom"),
        ("Thank you. " * 8, "repetitive"),
        ("you " * 9, "repetitive"),
        ("So. " * 12, "repetitive"),
    ],
)
def test_phantom_phrases_are_not_trusted(raw: str, why: str | None) -> None:
    from agent.recognize import trusted
    from agent.transcribe import Transcript

    t = Transcript(
        text=raw.strip(),
        raw=raw,
        asr_ms=1.0,
        no_speech_prob=0.1,
        avg_logprob=-0.3,
        compression_ratio=get_compression_ratio(raw),
    )
    assert trusted(t) == why


def test_each_guard_layer_rejects_on_its_own() -> None:
    from agent.recognize import trusted
    from agent.transcribe import Transcript

    good = dict(
        text="hey computer what time is it",
        raw="hey computer what time is it",
        asr_ms=1.0,
        no_speech_prob=0.1,
        avg_logprob=-0.3,
        compression_ratio=1.2,
    )
    assert trusted(Transcript(**good)) is None  # type: ignore[arg-type]
    assert trusted(Transcript(**good), speech_ratio=0.1) == "little_speech"  # type: ignore[arg-type]
    assert (
        trusted(Transcript(**{**good, "no_speech_prob": 0.9, "avg_logprob": -1.2})) == "no_speech"
    )  # type: ignore[arg-type]
    assert trusted(Transcript(**{**good, "avg_logprob": -2.0})) == "unsure"  # type: ignore[arg-type]
    assert trusted(Transcript(**{**good, "compression_ratio": 3.0})) == "repetitive"  # type: ignore[arg-type]


def test_a_command_the_model_wrote_over_and_over_is_heard_once(
    fixtures: Fixtures, model: Transcriber
) -> None:
    """tiny.en at times loops on clear speech, writing the command until its length cap
    (flite's "hey computer, tell me a joke": four times). That compresses like a
    hallucination, but the phrase kept once (``collapse_repeats``) is what is acted on, so
    it runs the command; a loop of one word ("it? it? it? ...") is still dropped."""
    said = "Hey computer, what time is it? "
    loop = said * 4 + "Hey computer"
    assert get_compression_ratio(loop) > MAX_COMPRESSION
    evs = heard_as(fixtures.path("time.wav"), loop, model)
    assert of(evs, "rejected") == [], evs
    assert [c["command"] for c in of(evs, "command")] == ["time_now"], evs

    stuck = "Hey computer, what time is it" + "? it" * 30
    evs = heard_as(fixtures.path("time.wav"), stuck, model)
    assert [r["reason"] for r in of(evs, "rejected")] == ["repetitive"], evs
    assert of(evs, "command") == []


# --------------------------------------------------------------------------- long runs
@pytest.fixture(scope="module")
def mixed_minute(
    fixtures: Fixtures, tmp_path_factory: pytest.TempPathFactory
) -> tuple[np.ndarray, list[str]]:
    """One minute of life: two commands, a stretch of talk without the wake phrase, room
    noise and silence. Returns the audio and the commands it holds, in order."""
    d = tmp_path_factory.mktemp("long")
    talk = read_file(
        speak(
            "the weather is lovely today and I am going for a walk in the park "
            "with my sister after lunch",
            d / "talk.wav",
        )
    )
    time_cmd = read_file(fixtures.path("time.wav"))
    timer = read_file(fixtures.path("timer.wav"))
    room = _noise(1, 0.004, "white")
    parts = [time_cmd, np.tile(room, 12), talk, np.zeros(RATE * 8, np.float32), timer]
    used = sum(p.shape[0] for p in parts)
    parts.append(np.tile(room, 60)[: max(0, RATE * 60 - used)])
    return np.concatenate(parts), ["clock.time_now", "timer.set_timer"]


class MeteredSource(ArraySource):
    """An ArraySource that samples the process's memory every ``every_s`` of audio, between
    two runs of ``model``: read while a run is in flight, the figure would hold that run's
    working memory (tens of MB for rescoring's batch of phrases), which comes and goes
    with timing, not with leaks."""

    def __init__(self, samples: np.ndarray, every_s: float, model: Transcriber) -> None:
        super().__init__(samples, fast=True)
        self.every = int(every_s * RATE)
        self.model = model
        self.rss: list[float] = []

    def _sample(self) -> None:
        gc.collect()
        self.rss.append(rss_mb())

    async def blocks(self):  # type: ignore[override]
        position = 0
        loop = asyncio.get_running_loop()
        async for block, t in super().blocks():
            if position // self.every != (position + block.shape[0]) // self.every:
                # on the model's one thread, so after the run in flight, if any
                await loop.run_in_executor(self.model._executor, self._sample)
            position += block.shape[0]
            yield block, t


def _replay(
    minutes: int, mixed: tuple[np.ndarray, list[str]], model: Transcriber, registry: Registry
) -> None:
    minute, expected = mixed
    audio = np.tile(minute, minutes)
    config = dataclasses.replace(
        CONFIG, plugins=dataclasses.replace(CONFIG.plugins, watch=False, fallback="silent")
    )
    seen: list[events.Event] = []

    class Sink(events.EventSink):
        def emit(self, event: events.Event) -> None:
            seen.append(event)

    threads_before = threading.active_count()
    source = MeteredSource(audio, every_s=30, model=model)

    async def go() -> tuple[Pipeline, int]:
        log = make_logger("error")
        p = Pipeline(config, source, model, registry, Sink(True), log)
        await p.run()
        await close_logger(log)
        await asyncio.sleep(0.2)
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return p, len(others)

    p, tasks_left = asyncio.run(go())
    done = [f"{e.plugin}.{e.command}" for e in seen if isinstance(e, events.Command)]
    assert done == expected * minutes  # every command exactly once, in order
    assert not [e for e in seen if isinstance(e, events.CommandError)]
    assert tasks_left == 0
    time.sleep(0.5)
    assert threading.active_count() <= threads_before + 1  # the log writer may linger
    # The first minutes are warm-up: the allocators grow to the working set of every shape
    # of model run this mix asks for (transcriptions, and wake checks of 2-5 texts), which
    # took up to 4 minutes of it (samples every 30 s: 257 264 258 270 269 273 268 273 288,
    # then 288 to the end). A leak keeps growing after that; so compare the second half.
    settled = source.rss[len(source.rss) // 2 :]
    growth = max(settled) - settled[0]
    print(
        f"{minutes} min replay: RSS {settled[0]:.0f} -> {max(settled):.0f} MB "
        f"(+{growth:.1f}), {len(done)} commands, {p.transcriptions} model runs; "
        f"every 5 min: {' '.join(f'{x:.0f}' for x in source.rss[::10])}"
    )
    assert growth <= 10.0, source.rss


def test_long_run_short_form(
    mixed_minute: tuple[np.ndarray, list[str]], model: Transcriber, registry: Registry
) -> None:
    """Ten minutes of mixed audio, replayed fast (the CI-sized form of the hour below)."""
    _replay(10, mixed_minute, model, registry)


@pytest.mark.slow
def test_long_run_one_hour(
    mixed_minute: tuple[np.ndarray, list[str]], model: Transcriber, registry: Registry
) -> None:
    """One hour of mixed audio, replayed fast: memory flat, nothing leaks, every command
    dispatched exactly once. Run with ``pytest -m slow``."""
    _replay(60, mixed_minute, model, registry)


@pytest.mark.parametrize("kind", list(NON_SPEECH))
def test_guard_rejects_what_the_model_invents_without_vad(model: Transcriber, kind: str) -> None:
    """Silero VAD keeps all of the above from the model. Should it ever let one through,
    the next layer must hold on its own: the real model, fed the non-speech directly,
    invents text ("you", "I'm gonna go to the end of the video", "Aaaa...") and the guard
    rejects every one of them."""
    from agent.recognize import trusted

    t = model.transcribe_sync(NON_SPEECH[kind]()[: RATE * 4])
    assert trusted(t) is not None, t


def test_rate_limiter_allows_bursts_then_the_rate() -> None:
    now = [0.0]
    limit = RateLimiter(2.0, burst=3, clock=lambda: now[0])
    assert [limit.take() for _ in range(5)] == [True, True, True, False, False]
    now[0] += 0.5
    assert [limit.take() for _ in range(2)] == [True, False]
    now[0] += 100
    assert sum(limit.take() for _ in range(10)) == 3


def test_a_talkative_room_is_bounded_by_max_transcriptions_per_s(
    short_commands: dict[str, np.ndarray], model: Transcriber, registry: Registry
) -> None:
    """Eight utterances in 14 s from a live (paced) source, with at most 0.05 model runs a
    second (bursts of 3): three are transcribed, the rest are dropped, counted, reported."""
    gap = np.zeros(int(RATE * 0.7), dtype=np.float32)
    audio = np.concatenate([gap] + [short_commands["time"], gap] * 8)
    config = dataclasses.replace(
        CONFIG, model=dataclasses.replace(CONFIG.model, max_transcriptions_per_s=0.05)
    )
    r = run_pipeline(config, audio, model, registry, fast=False)
    s = stopped(r)
    assert s.transcriptions == 3
    assert len(commands(r)) == 3
    assert s.dropped_utterances == 5
    assert r.of(events.Dropped)[-1].utterances == 5
