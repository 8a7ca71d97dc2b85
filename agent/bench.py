"""``voiceflow bench``: measure the figures of docs/PERFORMANCE.md, each beside the naive way
of doing the same work in the same run, as a ratio (the machine is noisy; ratios travel).

Everything runs the real pipeline and the real model on speech made with espeak-ng.
``--tiny`` shortens every section so the benchmark can run in the test suite; it still
prints figures, and nothing here asserts on time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent import events
from agent.buffer import BlockQueue, StreamHistory
from agent.capture import RATE, ArraySource, drain_queue, read_file, write_wav
from agent.config import Config
from agent.loader import Match, Registry, load_plugins
from agent.log import close_logger, make_logger
from agent.sanitize import Sanitizer
from agent.text import clean, words
from agent.transcribe import Transcriber

COMMANDS = [
    "hey computer what time is it",
    "hey computer set a timer for five minutes",
    "hey computer what day is it today",
    "computer what is the date",
    "hey computer repeat after me the rain in spain",
    "hey computer list my timers",
    "hey computer cancel all timers",
    "hey computer what time is it now",
]
TALK = (
    "The history of the city goes back many centuries. Merchants came from the coast to trade "
    "wool and salt, and the market square grew around the old stone bridge. In the spring the "
    "river rises and the fields along its banks turn green. Most of the people who live here "
    "today work in the shops, the schools and the hospital, and on Sundays the park is full of "
    "families walking their dogs and children playing football near the lake. "
)


@dataclass
class Row:
    figure: str
    ours: str
    naive: str = ""
    ratio: str = ""
    note: str = ""


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------- audio
class Voice:
    """Speech from espeak-ng, decoded to 16 kHz mono float32."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise SystemExit("voiceflow bench needs espeak-ng (apt-get install espeak-ng)")
        self.binary = binary
        self._n = 0

    def say(self, text: str, speed: int = 150) -> np.ndarray:
        self._n += 1
        path = self.workdir / f"s{self._n}.wav"
        subprocess.run(
            [self.binary, "-v", "en-us", "-s", str(speed), "-w", str(path), text], check=True
        )
        return read_file(path)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds), dtype=np.float32)


def noise(seconds: float, level: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(7)
    return (rng.standard_normal(int(RATE * seconds)) * level).astype(np.float32)


# --------------------------------------------------------------------------- pipeline runs
class _Collect(events.EventSink):
    def __init__(self) -> None:
        super().__init__(json_lines=True)
        self.seen: list[events.Event] = []

    def emit(self, event: events.Event) -> None:
        self.seen.append(event)


@dataclass
class RunResult:
    seen: list[events.Event]
    cpu_s: float
    wall_s: float
    transcriptions: int

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.seen if isinstance(e, kind)]

    @property
    def cpu_pct(self) -> float:
        return 100.0 * self.cpu_s / self.wall_s if self.wall_s else float("nan")


def before_match(registry: Registry, text: str, threshold: float) -> Match | None:
    """The command a ``before`` text runs (``run_pipeline``), matched as typed words are,
    never loosely; None if it matches none."""
    return registry.match(words(text), threshold, loose=False).best


def run_pipeline(
    config: Config,
    audio: np.ndarray,
    transcriber: Transcriber,
    registry: Registry,
    fast: bool,
    before: Sequence[str] = (),
) -> RunResult:
    """Play ``audio`` through a pipeline of its own and collect what it did. ``before``:
    commands, as text, run first in that pipeline's plugins ("set a pasta timer for ten
    minutes"); each must match one (``ValueError``); they report no events."""
    from agent.pipeline import Pipeline

    async def go() -> RunResult:
        log = make_logger("error")
        sink = _Collect()
        config_ = dataclasses.replace(
            config, plugins=dataclasses.replace(config.plugins, watch=False, fallback="silent")
        )
        p = Pipeline(config_, ArraySource(audio, fast=fast), transcriber, registry, sink, log)
        for text in before:
            m = before_match(registry, text, config.plugins.match_threshold)
            if m is None:
                raise ValueError(f"before: {text!r} matches no command")
            await p.dispatcher.call(m, p.dispatcher.context(m, text, text, None))
        cpu, wall = time.process_time(), time.monotonic()
        await p.run()
        result = RunResult(
            sink.seen, time.process_time() - cpu, time.monotonic() - wall, p.transcriptions
        )
        await close_logger(log)
        return result

    return asyncio.run(go())


def with_(config: Config, section: str, **changes: Any) -> Config:
    return dataclasses.replace(
        config, **{section: dataclasses.replace(getattr(config, section), **changes)}
    )


def naive_config(config: Config) -> Config:
    """Wait out the full silence, then transcribe a padded 30 s window; VAD on every chunk."""
    c = with_(config, "vad", speculative_ms=0, energy_gate_db=0.0)
    c = with_(c, "model", window_s=30.0)
    return with_(c, "plugins", early_dispatch_score=101.0)


# --------------------------------------------------------------------------- sections
def bench_latency(cfg: Config, t: Transcriber, reg: Registry, voice: Voice, n: int) -> list[Row]:
    parts = [silence(1.0)]
    for text in (COMMANDS * 2)[:n]:
        parts += [voice.say(text), silence(2.5)]
    audio = np.concatenate(parts)
    rows = []
    results = {}
    for name, c in (("ours", cfg), ("naive", naive_config(cfg))):
        r = run_pipeline(c, audio, t, reg, fast=False)
        results[name] = [e.latency_ms for e in r.of(events.Command)]
    ours, naive = results["ours"], results["naive"]
    rows.append(
        Row(
            "end of speech -> handler start, p50",
            f"{pct(ours, 0.5):.0f} ms",
            f"{pct(naive, 0.5):.0f} ms",
            f"{pct(naive, 0.5) / pct(ours, 0.5):.2f}x",
            f"{len(ours)}/{n} commands ran (naive {len(naive)}/{n}); paced at real time",
        )
    )
    rows.append(
        Row(
            "end of speech -> handler start, p95",
            f"{pct(ours, 0.95):.0f} ms",
            f"{pct(naive, 0.95):.0f} ms",
            f"{pct(naive, 0.95) / pct(ours, 0.95):.2f}x",
        )
    )
    return rows


def bench_idle(cfg: Config, t: Transcriber, reg: Registry, seconds: float) -> list[Row]:
    rows = []
    for label, audio in (("silence", silence(seconds)), ("steady noise", noise(seconds))):
        ours = run_pipeline(cfg, audio, t, reg, fast=False)
        naive = run_pipeline(naive_config(cfg), audio, t, reg, fast=False)
        rows.append(
            Row(
                f"CPU listening to {label}, {seconds:.0f} s",
                f"{ours.cpu_pct:.2f} % of a core",
                f"{naive.cpu_pct:.2f} %",
                f"{naive.cpu_pct / max(ours.cpu_pct, 1e-6):.1f}x",
                "naive: Silero on every chunk (no energy gate)",
            )
        )
    return rows


def bench_talk(
    cfg: Config, t: Transcriber, reg: Registry, voice: Voice, seconds: float
) -> list[Row]:
    talk = voice.say(TALK * 4, speed=165)
    audio = np.concatenate([talk] * (int(seconds * RATE / talk.shape[0]) + 1))[
        : int(seconds * RATE)
    ]
    ours = run_pipeline(cfg, audio, t, reg, fast=False)
    unbounded = run_pipeline(
        with_(cfg, "model", max_transcriptions_per_s=100.0), audio, t, reg, fast=False
    )
    return [
        Row(
            f"CPU listening to talk without the wake phrase, {seconds:.0f} s",
            f"{ours.cpu_pct:.1f} % ({ours.transcriptions / seconds:.2f} transcriptions/s)",
            f"{unbounded.cpu_pct:.1f} % ({unbounded.transcriptions / seconds:.2f}/s)",
            f"{unbounded.cpu_pct / max(ours.cpu_pct, 1e-6):.2f}x",
            f"bounded by model.max_transcriptions_per_s = {cfg.model.max_transcriptions_per_s:g}; "
            "naive: no bound",
        )
    ]


def bench_file(cfg: Config, t: Transcriber, voice: Voice, seconds: float) -> list[Row]:
    talk = voice.say(TALK * 6, speed=165)
    audio = np.concatenate([talk] * (int(seconds * RATE / talk.shape[0]) + 1))[
        : int(seconds * RATE)
    ]
    started = time.perf_counter()
    text_ours = " ".join(s.text for s in t.transcribe_file_sync(audio))
    ours = time.perf_counter() - started
    started = time.perf_counter()
    segments, _ = t.model.transcribe(audio, language=cfg.model.language)  # faster-whisper defaults
    text_naive = " ".join(s.text for s in segments)
    naive = time.perf_counter() - started
    words = len(text_ours.split()), len(text_naive.split())
    return [
        Row(
            f"file transcription, {seconds / 60:.1f} min of speech",
            f"{seconds / ours:.1f}x real time",
            f"{seconds / naive:.1f}x",
            f"{naive / ours:.2f}x",
            f"batched over VAD chunks, beam {cfg.model.transcribe_beam_size}; naive: "
            f"WhisperModel.transcribe defaults ({words[0]} vs {words[1]} words out)",
        )
    ]


def bench_callback(iterations: int) -> list[Row]:
    rows = []
    for label, shape in (
        ("16 kHz mono, 512 frames", (512, 1)),
        ("48 kHz stereo, 1536 frames", (1536, 2)),
    ):
        block = (np.random.default_rng(1).standard_normal(shape) * 0.1).astype(np.float32)
        q = BlockQueue(64, shape[0])
        frames: list[np.ndarray] = []

        def naive_put(indata: np.ndarray, frames: list[np.ndarray] = frames) -> None:
            # the seed's "current implementation"
            data = indata.copy()
            if data.ndim == 2 and data.shape[1] > 1:
                data = np.mean(data, axis=1, keepdims=True)
            frames.append(data.reshape(-1))

        ours_t, naive_t = [], []
        for i in range(iterations):
            s = time.perf_counter_ns()
            q.put(block)
            ours_t.append((time.perf_counter_ns() - s) / 1000)
            s = time.perf_counter_ns()
            naive_put(block)
            naive_t.append((time.perf_counter_ns() - s) / 1000)
            if i % 32 == 31:
                while (slot := q.pop()) is not None:
                    q.release(slot)
                frames.clear()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(200):
            q.put(block)
            if len(q) > 32:
                while (slot := q.pop()) is not None:
                    q.release(slot)
        grown = sum(
            d.size_diff
            for d in tracemalloc.take_snapshot().compare_to(before, "filename")
            if d.size_diff > 0
        )
        tracemalloc.stop()
        rows.append(
            Row(
                f"audio callback, {label}: median / p99",
                f"{pct(ours_t, 0.5):.1f} / {pct(ours_t, 0.99):.1f} us",
                f"{pct(naive_t, 0.5):.1f} / {pct(naive_t, 0.99):.1f} us",
                f"{pct(naive_t, 0.5) / pct(ours_t, 0.5):.2f}x",
                f"{grown} bytes allocated by 200 puts; naive: copy + mean + list append",
            )
        )
    return rows


def bench_busy_model(t: Transcriber, voice: Voice, seconds: float) -> list[Row]:
    """A producer thread delivers 32 ms blocks in real time while the model is kept busy."""
    command = voice.say(COMMANDS[1])
    q = BlockQueue(max(2, int(10 * RATE / 512)), 512)
    block = np.zeros((512, 1), dtype=np.float32)
    stop = threading.Event()

    def produce() -> None:
        start = time.monotonic()
        n = 0
        while not stop.is_set():
            q.put(block)
            n += 1
            time.sleep(max(0.0, start + n * 0.032 - time.monotonic()))

    async def consume() -> int:
        runs = 0
        done = False

        async def drain() -> None:
            async for _ in drain_queue(q, None, lambda: done):
                pass

        d = asyncio.create_task(drain())
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            await t.transcribe(command)
            runs += 1
        done = True
        stop.set()
        await d
        return runs

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    runs = asyncio.run(consume())
    thread.join()
    return [
        Row(
            f"dropped blocks while the model is busy, {seconds:.0f} s",
            f"{q.dropped} of {q.received}",
            note=f"{runs} transcriptions back to back while capture ran",
        )
    ]


def bench_memory(
    cfg: Config, t: Transcriber, reg: Registry, voice: Voice, minutes: float, workdir: Path
) -> list[Row]:
    command = voice.say(COMMANDS[0])
    minute = np.concatenate(
        [silence(20), command, silence(40 - command.shape[0] / RATE), noise(20, 0.01)]
    )
    steady_agent, peak = agent_rss_mb(write_wav(workdir / "minute.wav", minute))
    run_pipeline(cfg, minute, t, reg, fast=True)  # warm up
    gc.collect()
    steady = rss_mb()
    audio = np.concatenate([minute] * int(minutes))
    del minute
    r = run_pipeline(cfg, audio, t, reg, fast=True)
    del audio
    gc.collect()
    after = rss_mb()
    return [
        Row(
            "resident memory of `voiceflow run` at the end of a minute of audio (peak)",
            f"{steady_agent:.0f} MB ({peak:.0f} MB)",
            note="a separate process: model, VAD, plugins, one command; the peak is "
            "during the model load",
        ),
        Row(
            f"memory growth over a {minutes:.0f} min replay (fast)",
            f"{after - steady:+.1f} MB",
            note=f"{len(r.of(events.Command))} commands dispatched in {r.wall_s:.1f} s",
        ),
    ]


def agent_rss_mb(wav: Path) -> tuple[float, float]:
    """Resident memory of ``voiceflow run --input WAV --fast``: (last reading before it
    exits, peak), sampled from /proc every 20 ms."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--input", str(wav), "--fast", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = peak = 0.0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if line.startswith("Vm"))
            last = int(fields["VmRSS"].split()[0]) / 1024 or last
            peak = int(fields["VmHWM"].split()[0]) / 1024 or peak
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(0.02)
    return last, peak


def bench_cold_start(workdir: Path, runs: int) -> list[Row]:
    wav = write_wav(workdir / "cold.wav", silence(30))
    times = []
    for _ in range(runs):
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "run", "--input", str(wav), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if '"event": "ready"' in line:
                times.append(time.monotonic() - started)
                break
        proc.terminate()
        proc.wait(10)
    return [
        Row(
            "cold start to READY (process start, model load, first audio)",
            f"{pct(times, 0.5):.2f} s",
        )
    ]


def bench_micro(iterations: int) -> list[Row]:
    rows = []
    raw = "  Hey computer ,  set a timer for five minutes .  And  then ,what ? "

    def naive_clean(text: str) -> str:  # the seed's "current": uncompiled, several passes
        text = re.sub(r"\s+([,.!?])", r"\1", text)
        text = re.sub(r"([,.!?])\s*([A-Z])", r"\1 \2", text)
        text = re.sub(r"\s+", " ", text)
        return text.strip()

    rows.append(
        _time_pair(
            "text cleaning, per transcript",
            lambda: clean(raw),
            lambda: naive_clean(raw),
            iterations,
        )
    )
    chunk = np.ones(512, dtype=np.float32)
    history = StreamHistory(RATE * 17)
    frames: list[np.ndarray] = []

    def ours_hist() -> None:
        history.write(chunk)

    def naive_hist() -> None:
        frames.append(chunk.copy())
        if len(frames) >= 500:  # the utterance ends: concatenate, start again
            np.concatenate(frames)
            frames.clear()

    rows.append(
        _time_pair(
            "utterance audio: ring buffer vs list + concatenate, per block",
            ours_hist,
            naive_hist,
            iterations,
        )
    )
    stereo = np.ones((512, 2), dtype=np.float32)
    out = np.zeros(512, dtype=np.float32)
    weights = np.full(2, 0.5, dtype=np.float32)

    def ours_mono() -> None:  # what BlockQueue.put does
        np.matmul(stereo, weights, out=out)

    rows.append(
        _time_pair(
            "stereo downmix: into a pre-allocated buffer vs np.mean",
            ours_mono,
            lambda: np.mean(stereo, axis=1),
            iterations,
        )
    )
    sanitizer = Sanitizer()
    block = (0.1 * np.sin(np.arange(512) / 7)).astype(np.float32)
    for _ in range(200):  # past the trust period, as in a running stream
        sanitizer.clean(block)

    def naive_validate() -> np.ndarray:  # every check on every block, always a copy
        x = np.nan_to_num(block.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        np.clip(x, -1.0, 1.0, out=x)
        return x - x.mean()

    rows.append(
        _time_pair(
            "audio validation per 512-sample block: sampled vs every check every block",
            lambda: sanitizer.clean(block),
            naive_validate,
            iterations,
        )
    )
    return rows


def _time_pair(figure: str, ours: Callable[[], Any], naive: Callable[[], Any], n: int) -> Row:
    def per_call(fn: Callable[[], Any]) -> float:
        samples = []
        for _ in range(5):
            s = time.perf_counter_ns()
            for _ in range(n):
                fn()
            samples.append((time.perf_counter_ns() - s) / n / 1000)
        return statistics.median(samples)

    a, b = per_call(ours), per_call(naive)
    return Row(figure, f"{a:.2f} us", f"{b:.2f} us", f"{b / a:.2f}x")


# --------------------------------------------------------------------------- main
@dataclass(frozen=True)
class Scale:
    """How much each section measures: the full run (``FULL``) or ``--tiny`` (``TINY``)."""

    latency_n: int
    """Commands timed from end of speech to action."""
    idle_s: float
    """Seconds of silence, and of steady noise, over which idle CPU is measured."""
    talk_s: float
    """Seconds of talk over which busy CPU is measured."""
    file_s: float
    """Seconds of speech read from a file, for throughput."""
    callback_n: int
    """Audio callbacks timed."""
    busy_s: float
    """Seconds the model is kept busy."""
    memory_min: int
    """Minutes of audio (a command, silence and noise in each) replayed while memory is
    watched."""
    cold_runs: int
    """Cold starts timed."""
    micro_n: int
    """Iterations of each micro-benchmark."""


FULL = Scale(
    latency_n=8,
    idle_s=60.0,
    talk_s=60.0,
    file_s=300.0,
    callback_n=20000,
    busy_s=10.0,
    memory_min=60,
    cold_runs=3,
    micro_n=20000,
)
TINY = Scale(
    latency_n=2,
    idle_s=3.0,
    talk_s=6.0,
    file_s=20.0,
    callback_n=500,
    busy_s=2.0,
    memory_min=1,
    cold_runs=1,
    micro_n=200,
)


def run(config: Config, tiny: bool, as_json: bool) -> int:
    scale = TINY if tiny else FULL
    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vf-bench-") as tmp:
        workdir = Path(tmp)
        voice = Voice(workdir)
        transcriber = Transcriber(config.model)
        registry = load_plugins(config.plugins.dirs, config.plugins.settings, entry_points=False)
        sections: list[tuple[str, Callable[[], list[Row]]]] = [
            (
                "latency",
                lambda: bench_latency(config, transcriber, registry, voice, scale.latency_n),
            ),
            ("idle", lambda: bench_idle(config, transcriber, registry, scale.idle_s)),
            ("talk", lambda: bench_talk(config, transcriber, registry, voice, scale.talk_s)),
            ("file", lambda: bench_file(config, transcriber, voice, scale.file_s)),
            ("callback", lambda: bench_callback(scale.callback_n)),
            ("busy", lambda: bench_busy_model(transcriber, voice, scale.busy_s)),
            (
                "memory",
                lambda: bench_memory(
                    config, transcriber, registry, voice, scale.memory_min, workdir
                ),
            ),
            ("cold", lambda: bench_cold_start(workdir, scale.cold_runs)),
            ("micro", lambda: bench_micro(scale.micro_n)),
        ]
        for name, section in sections:
            if not as_json:
                print(f"... {name}", file=sys.stderr, flush=True)
            rows.extend(section())
        transcriber.close()
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform_line()}",
        "model": str(transcriber.path),
        "tiny": tiny,
        "seconds": round(time.monotonic() - started, 1),
    }
    if as_json:
        print(json.dumps({"meta": meta, "rows": [dataclasses.asdict(r) for r in rows]}, indent=1))
        return 0
    mode = ", tiny" if tiny else ""
    print(f"voiceflow bench  {meta['date']}  {meta['machine']}  ({meta['seconds']} s{mode})")
    print(table(rows))
    return 0


def platform_line() -> str:
    """The CPU and the matrix library that compute the model (``transcribe.arithmetic``):
    the figures depend on both."""
    import platform

    from agent.transcribe import arithmetic

    a = arithmetic()
    return f"{a['cpu']} ({a['gemm']}), {platform.machine()}, Python {platform.python_version()}"


def table(rows: list[Row]) -> str:
    head = "| figure | VoiceFlow | naive | ratio | notes |\n|---|---|---|---|---|"
    return "\n".join(
        [head, *(f"| {r.figure} | {r.ours} | {r.naive} | {r.ratio} | {r.note} |" for r in rows)]
    )
