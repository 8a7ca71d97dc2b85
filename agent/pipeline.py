"""The pipeline: audio source -> VAD/endpointing -> transcription -> wake -> dispatch.

Two tasks share the loop. The *listener* consumes audio blocks, scores 32 ms chunks with
Silero VAD, runs the endpointer and cuts finished utterances out of the stream history.
The *recognizer* awaits transcriptions (done on the model's own thread), applies the wake
gate and starts handlers. Between them sits a bounded utterance queue: with a live source
the oldest waiting utterance is dropped (and counted) when transcription falls behind;
with a file read ``--fast`` the listener simply waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent import events
from agent.buffer import StreamHistory
from agent.capture import RATE, AudioSource
from agent.config import Config, ConfigError, load_config
from agent.denoise import LEAD_S, Denoiser, noise_power, snr_db
from agent.dispatch import Dispatcher
from agent.endpoint import (
    Endpointer,
    EndpointParams,
    SpeechDiscarded,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
    Transition,
)
from agent.feedback import Feedback, OutputLog
from agent.loader import Match, Registry
from agent.plugin import Timings
from agent.ratelimit import RateLimiter
from agent.reload import PluginWatcher, reload_plugins
from agent.rescore import (
    MIN_LOGPROB,
    SWAP_GAP,
    WAKE_CANDIDATES,
    WAKE_MAX_LOSS,
    WAKE_NEAR,
    Candidate,
    candidates,
    choose,
    sentence,
    split_words,
    swaps,
    with_phrase,
)
from agent.sanitize import Sanitizer
from agent.service import Notifier, watchdog
from agent.speech import Speaker
from agent.text import collapse_repeats, is_phantom, words
from agent.transcribe import Transcriber, Transcript
from agent.vad import CHUNK, EnergyGate, SileroVad
from agent.wake import GateDecision, WakeGate, WakeMatch, WakeMatcher

UTTERANCE_QUEUE = 4
"""Utterances that may wait for transcription."""
TAIL_MS = 200
"""Trailing silence kept after the end of speech (Whisper finishes words better with it)."""
MIN_SPEECH_RATIO = 0.3
"""Utterances the VAD called speech for less than this share of are not acted on."""
MIN_AVG_LOGPROB = -1.5
"""Transcripts Whisper is less sure of than this (mean token log-probability) are dropped."""
LOOP_TICK_S = 0.1
"""How often the loop monitor wakes up."""
LOOP_BLOCKED_S = 1.0
"""A loop that did not run for this long was blocked (a plugin calling time.sleep...)."""


@dataclass(frozen=True)
class UtteranceJob:
    audio: np.ndarray
    start_s: float
    end_s: float
    speech_end_at: float
    transcript: asyncio.Task[Transcript] | None = None
    """A speculative transcription of exactly this audio, started at the pause, to reuse."""
    speech_ratio: float = 1.0
    """Share of the utterance (start to end of speech) the VAD called speech."""
    snr_db: float = 0.0
    """How far its speech stood above the noise floor."""
    denoised: bool = False
    """Its steady noise was taken out (``audio.denoise``)."""
    noisy: np.ndarray | None = None
    """When ``denoised``: the audio as heard, to read again if the cleaned audio's reading
    has no wake phrase (``Pipeline._reread``)."""


@dataclass
class Speculation:
    """A transcription started when speech paused, before the utterance was over."""

    job: UtteranceJob
    end: int
    """Stream position where speech paused; valid while no voiced audio follows it."""
    task: asyncio.Task[Transcript] | None = None
    claimed: bool = False
    """Its command was dispatched early; the utterance is finished."""


_SLOTS = re.compile(r"\{[^}]*\}")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def unusual(phrases: Sequence[str], rare: Callable[[str], bool]) -> frozenset[str]:
    """The wake phrases with a word Whisper's vocabulary lacks whole ("okay nabu", not
    "hey computer"): those ``auto`` biases toward and checks against the audio."""
    return frozenset(p for p in phrases if any(rare(w) for w in words(p)))


def bias_words(config: Config, registry: Registry, rare: Callable[[str], bool]) -> str:
    """The prompt that biases recognition (``model.bias``, ``model.hotwords``), written
    as Whisper's previous text. Command words come first and the wake phrases last, as
    sentences ("Hey mycroft. Okay nabu."): a long prompt is cut from the front, and this
    form measured best (a comma list made tiny.en repeat itself; docs/ACCURACY.md).
    ``rare(word)`` says whether Whisper's vocabulary lacks the word whole (for ``auto``)."""
    bias = config.model.bias
    phrases = config.wake.phrases
    if bias == "auto":
        bias = "wake" if unusual(phrases, rare) else "none"
    parts: list[str] = []
    if bias == "commands":
        seen: dict[str, None] = {}
        for cmd in registry.commands:
            for t in cmd.templates:
                literal = _SLOTS.sub(" ", t.source)
                seen.update(dict.fromkeys(w.lower() for w in _WORD.findall(literal)))
        parts.append(" ".join(seen) + ".")
    if config.model.hotwords.strip():
        parts.append(config.model.hotwords.strip())
    if bias in ("wake", "commands"):
        parts.extend(p.strip().capitalize() + "." for p in phrases)
    return " ".join(parts)


def _ratio(tr: SpeechEnded | SpeechPaused) -> float:
    return min(1.0, tr.voiced / max(1, tr.end - tr.start))


def trusted(t: Transcript, speech_ratio: float = 1.0) -> str | None:
    """Why a transcript should not be acted on, or None when it is fine. The layers of the
    hallucination guard: the VAD must have heard mostly speech, Whisper must think there
    was speech and be fairly sure of its words, the text must not loop, and it must not be
    one of the phrases Whisper invents for non-speech."""
    if not t.raw:
        return "empty"
    if speech_ratio < MIN_SPEECH_RATIO:
        return "little_speech"
    if t.no_speech_prob > 0.6 and t.avg_logprob < -1.0:
        return "no_speech"
    if t.avg_logprob < MIN_AVG_LOGPROB:
        return "unsure"
    if t.compression_ratio > 2.4:
        return "repetitive"
    if is_phantom(t.raw):
        return "phantom"
    return None


def _wake_part(own: str, t: Transcript, decision: GateDecision) -> str:
    """The wake phrase as it was heard ("A computer, "), to open each phrase scored against
    the model's own reading ``own``."""
    cut = split_words(own, len(words(t.text)) - len(decision.command))
    if cut is None or not cut[0]:
        return f"{decision.phrase.capitalize()}, " if decision.phrase else ""
    return cut[0] + " "


class Pipeline:
    def __init__(
        self,
        config: Config,
        source: AudioSource,
        transcriber: Transcriber,
        registry: Registry,
        sink: events.EventSink,
        log: Any,
        config_path: str | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.source = source
        self.transcriber = transcriber
        self.registry = registry
        self.sink = sink
        self.log = log
        v = config.vad
        self.params = EndpointParams.from_ms(
            threshold=v.threshold,
            neg_threshold=v.neg_threshold,
            min_silence_ms=v.min_silence_ms,
            min_speech_ms=v.min_speech_ms,
            max_utterance_s=v.max_utterance_s,
            pause_ms=v.speculative_ms,
        )
        self.pre_roll = RATE * v.pre_roll_ms // 1000
        self.gate: WakeGate | None = None
        self.output = OutputLog()
        """When the agent itself made sound (tones, speech): not searched for the wake phrase."""
        self.feedback = Feedback(config.feedback, self.output, log)
        self.speaker = Speaker(config.speech, log, self.output)
        self.dispatcher = Dispatcher(
            config.plugins.settings, config.plugins.timeout_s, self.emit, log, self.speaker
        )
        self._apply(config)
        self._reloading = asyncio.Lock()
        self.notifier = notifier or Notifier({})
        self.utterances = 0
        self.dropped_utterances = 0
        self.last_audio = 0.0
        """``time.monotonic()`` of the newest audio block (0 before the first)."""
        self.busy = False
        """True while an utterance is being transcribed."""
        self._stopping = False
        self._listener: asyncio.Task[None] | None = None
        self._ep = Endpointer(self.params)
        self._spec: Speculation | None = None
        self.early = 0
        """Commands dispatched at a pause, before the end of the utterance."""
        self.transcriptions = 0
        self.denoised = 0
        """Utterances whose steady noise was taken out (``audio.denoise``)."""
        self._lead = int(RATE * LEAD_S)
        self.energy: EnergyGate | None = None
        self.sanitizer = Sanitizer(self._audio_fixed)
        self.loop_blocked = 0
        """Times the loop was found blocked for more than ``LOOP_BLOCKED_S``."""
        self.queue_peak = 0
        """Most utterances ever waiting for the model at once (bounded by UTTERANCE_QUEUE)."""
        self._rescues: set[asyncio.Task[None]] = set()
        """Rescoring of unmatched commands in progress (awaited before stopping)."""
        self._drops_reported_at = 0.0
        """``time.monotonic()`` of the last report of dropped capture blocks."""
        # Only a live source is bounded: a file read --fast must be processed whole.
        self._limiter = RateLimiter(config.model.max_transcriptions_per_s if source.live else 1e9)

    def emit(self, event: events.Event) -> None:
        self.sink.emit(event)
        if isinstance(event, (events.CommandError, events.NoMatch)):
            self.feedback.error()

    def _audio_fixed(self, kind: str, message: str) -> None:
        self.log.warning(f"{self.source.name}: {message}")
        self.emit(events.AudioFixed(kind, message))

    def _apply(self, config: Config) -> None:
        """Take the parts of ``config`` that can change while running."""
        w = config.wake
        if self.gate is None or w != self.config.wake:
            self.gate = WakeGate(
                WakeMatcher(w.phrases, w.threshold, w.max_leading_words, w.phonetic_threshold),
                w.follow_up_s,
            )
        if w.rescore == "auto":
            self._check_phrases = unusual(w.phrases, self.transcriber.is_rare)
        else:
            self._check_phrases = frozenset(w.phrases if w.rescore == "all" else ())
        hotwords = bias_words(config, self.registry, self.transcriber.is_rare)
        if hotwords != getattr(self.transcriber, "hotwords", hotwords):
            self.transcriber.set_hotwords(hotwords)
        a = config.audio
        self.denoiser = Denoiser(a.denoise, a.denoise_below_db, a.denoise_level)
        self.config = config
        self.dispatcher.settings = config.plugins.settings
        self.dispatcher.timeout_s = config.plugins.timeout_s

    # ------------------------------------------------------------------ reload
    def request_reload(self) -> None:
        """SIGHUP: reload config and plugins (audio capture keeps running)."""
        asyncio.get_running_loop().create_task(self.reload(config_too=True))

    async def reload(self, config_too: bool) -> events.Reloaded:
        async with self._reloading:
            self.notifier.reloading()
            try:
                return await self._reload(config_too)
            finally:
                self.notifier.send("READY=1", f"STATUS={self.status_line()}")

    async def _reload(self, config_too: bool) -> events.Reloaded:
        config = self.config
        if config_too and self.config_path is not None:
            try:
                config = load_config(self.config_path)
            except ConfigError as exc:
                self.log.error(f"reload: {exc}; keeping the running config")
                event = events.Reloaded(False, list(self.registry.plugins), [str(exc)], [])
                self.emit(event)
                return event
            for section in ("audio", "vad", "model"):
                if getattr(config, section) != getattr(self.config, section):
                    self.log.warning(f"reload: {section}.* changes take effect on restart")
        loop = asyncio.get_running_loop()
        registry, kept = await loop.run_in_executor(None, reload_plugins, self.registry, config)
        self.registry = registry
        self._apply(config)
        for err in registry.errors:
            self.log.error(f"plugin rejected: {err}")
        if kept:
            self.log.warning(f"reload: kept the previous version of {', '.join(kept)}")
        self.log.info(f"reloaded; plugins: {', '.join(registry.plugins) or 'none'}")
        event = events.Reloaded(True, list(registry.plugins), list(registry.errors), kept)
        self.emit(event)
        return event

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> events.Stopped:
        queue: asyncio.Queue[UtteranceJob | None] = asyncio.Queue(UTTERANCE_QUEUE)
        recognizer = asyncio.create_task(self._recognize(queue), name="recognizer")
        self._listener = asyncio.create_task(self._listen(queue), name="listener")
        helpers = [
            asyncio.create_task(watchdog(self.notifier, self.alive), name="watchdog"),
            asyncio.create_task(self._report_status(), name="status"),
            asyncio.create_task(self._watch_loop(), name="loop-monitor"),
        ]
        if self.config.plugins.watch:
            w = PluginWatcher(lambda: self.config.plugins.dirs, lambda: self.reload(False))
            helpers.append(asyncio.create_task(w.run(), name="plugin-watcher"))
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            if self._stopping:  # a signal: do not start work on what is still queued
                while not queue.empty():
                    queue.get_nowait()
            await queue.put(None)
            await recognizer
        finally:
            recognizer.cancel()
            self.notifier.stopping()
            for task in helpers:
                task.cancel()
            await self._rescued()
            await self.dispatcher.drain(grace_s=3.0)
            await self.speaker.close()
        stopped = events.Stopped(
            self.utterances,
            self.dispatcher.commands,
            self.source.dropped,
            self.dropped_utterances,
            self.transcriptions,
            self.early,
            {k: n for k, n in self.sanitizer.counts.items() if n},
            self.loop_blocked,
            self.denoised,
        )
        self.emit(stopped)
        return stopped

    def alive(self) -> bool:
        """Audio is arriving (checked by the watchdog, from the loop)."""
        return self.last_audio > 0 and time.monotonic() - self.last_audio < 2.0

    def status_line(self) -> str:
        state = "transcribing" if self.busy else "listening"
        return (
            f"{state}; {self.utterances} utterances, {self.dispatcher.commands} commands, "
            f"{self.source.dropped} dropped blocks, {self.dropped_utterances} dropped utterances"
        )

    async def _report_status(self) -> None:
        while True:
            if self.last_audio > 0:
                self.notifier.status(self.status_line())
            await asyncio.sleep(1.0)

    async def _watch_loop(self) -> None:
        """Notice when the loop stops running (a handler blocking it): log it, name the
        async handlers that were running, and report it as an event. While the loop is
        blocked nothing else runs, so the systemd watchdog pings stop too."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(LOOP_TICK_S)
            after = time.monotonic()
            late = after - before - LOOP_TICK_S
            if late > LOOP_BLOCKED_S:
                self.loop_blocked += 1
                suspects = self.dispatcher.async_handlers_between(before, after)
                who = f" while {', '.join(suspects)} ran" if suspects else ""
                self.log.error(
                    f"the event loop was blocked for {late:.1f} s{who}; handlers must not "
                    "block (use async code, or a plain def handler, which runs in a thread)"
                )
                self.emit(events.LoopBlocked(round(late, 2), suspects))

    def stop(self) -> None:
        """Stop listening; handlers already running get a grace period."""
        self.notifier.stopping()
        self._stopping = True
        if self._listener is not None:
            self._listener.cancel()

    # ------------------------------------------------------------------ listener
    async def _listen(self, queue: asyncio.Queue[UtteranceJob | None]) -> None:
        vad = SileroVad()
        clean = self.sanitizer.clean
        gate = self.energy = EnergyGate(self.config.vad.energy_gate_db)
        ep = self._ep
        history = StreamHistory(self.params.max_length + self.pre_roll + RATE * 2)
        chunk = np.zeros(CHUNK, dtype=np.float32)
        fill = 0
        speech_end_at = 0.0
        first = True
        source = self.source
        reported_drops = 0
        async with contextlib.aclosing(source.blocks()) as blocks:
            async for samples, captured in blocks:
                if self._stopping:  # also if a cancellation was lost on the way
                    break
                self.last_audio = time.monotonic()
                if first:
                    first = False
                    self._on_first_audio()
                if source.dropped != reported_drops:
                    reported_drops = self._report_drops(reported_drops)
                samples = clean(samples)
                history.write(samples)
                i, n = 0, samples.shape[0]
                while i < n:
                    take = min(CHUNK - fill, n - i)
                    chunk[fill : fill + take] = samples[i : i + take]
                    fill += take
                    i += take
                    if fill < CHUNK:
                        break
                    fill = 0
                    loud = gate.loud(chunk)
                    transition = ep.feed(CHUNK, vad(chunk) if loud or ep.in_speech else 0.0)
                    if ep.in_speech and ep.silence == 0:
                        speech_end_at = captured
                    if transition is not None:
                        await self._on_transition(transition, history, queue, speech_end_at)
        final = ep.flush()
        if final is not None:
            await self._on_transition(final, history, queue, speech_end_at)

    def _report_drops(self, reported: int) -> int:
        """Capture dropped blocks (the loop fell behind the audio): report it, at most once
        a second; returns the count now reported."""
        now = time.monotonic()
        if now - self._drops_reported_at < 1.0:
            return reported
        self._drops_reported_at = now
        dropped = self.source.dropped
        self.log.warning(
            f"capture dropped {dropped - reported} block(s) (oldest audio first): the event "
            f"loop fell behind; {dropped} dropped in all"
        )
        self.emit(events.Dropped(dropped, self.dropped_utterances))
        return dropped

    def _on_first_audio(self) -> None:
        self.log.info(f"audio flowing from {self.source.name}")
        t = self.transcriber
        self.emit(
            events.Ready(
                self.source.name,
                str(t.path),
                round(t.load_s, 3),
                list(self.registry.plugins),
                self.config.wake.phrases[0],
            )
        )
        self.notifier.ready(self.status_line())

    async def _on_transition(
        self,
        tr: Transition,
        history: StreamHistory,
        queue: asyncio.Queue[UtteranceJob | None],
        speech_end_at: float,
    ) -> None:
        if isinstance(tr, SpeechStarted):
            self.log.debug(f"speech started at {tr.start / RATE:.2f} s")
            return
        if isinstance(tr, SpeechDiscarded):
            self.log.debug(f"discarded {((tr.end - tr.start) / RATE):.2f} s blip")
            return
        if isinstance(tr, SpeechPaused):
            self._speculate(tr, history, speech_end_at)
            return
        spec, self._spec = self._spec, None
        reuse = spec.task if spec is not None and spec.end == tr.end else None
        if reuse is not None:
            job = dataclasses.replace(spec.job, transcript=reuse)  # type: ignore[union-attr]
        else:
            job = self._job(history, tr, tr.end + RATE * TAIL_MS // 1000, speech_end_at)
        self._count(job, tr.reason)
        if not self.source.live:
            await queue.put(job)
            return
        if queue.full():
            queue.get_nowait()
            self.dropped_utterances += 1
            self.log.warning("transcription is behind: dropped the oldest waiting utterance")
            self.emit(events.Dropped(self.source.dropped, self.dropped_utterances))
        queue.put_nowait(job)
        self.queue_peak = max(self.queue_peak, queue.qsize())

    def _count(self, job: UtteranceJob, reason: str) -> None:
        """An utterance is over (or acted on at a pause): count it and report it."""
        self.utterances += 1
        self.denoised += job.denoised
        start, end = round(job.start_s, 3), round(job.end_s, 3)
        self.emit(events.Utterance(start, end, reason, round(job.snr_db, 1), job.denoised))

    def _job(
        self,
        history: StreamHistory,
        tr: SpeechEnded | SpeechPaused,
        stop: int,
        speech_end_at: float,
    ) -> UtteranceJob:
        """The utterance's audio (with pre-roll) read back from the stream; when the room
        is noisy, with its steady noise taken out, learnt from the second before it."""
        begin = tr.start - self.pre_roll
        held = history.held_from(begin - self._lead)
        audio = history.read(held, stop)
        lead = max(0, min(begin, stop) - held)
        speech_at = max(0, tr.start - held)
        noise = noise_power(audio[:speech_at])
        if noise is None:  # the stream has just started: the energy gate's floor
            noise = self.energy.floor if self.energy is not None else 0.0
        snr = snr_db(audio[speech_at : max(speech_at, tr.end - held)], noise)
        denoised = self.denoiser.wanted(snr)
        return UtteranceJob(
            self.denoiser(audio, lead) if denoised else audio[lead:],
            tr.start / RATE,
            tr.end / RATE,
            speech_end_at,
            speech_ratio=_ratio(tr),
            snr_db=snr,
            denoised=denoised,
            noisy=audio[lead:] if denoised else None,
        )

    # ------------------------------------------------------------------ speculation
    def _speculate(self, tr: SpeechPaused, history: StreamHistory, speech_end_at: float) -> None:
        """Speech paused: transcribe what there is now. One speculation at a time, so a
        talker's many short pauses cannot queue up work in front of the real endpoint."""
        if self._spec is not None and self._spec.task is not None and not self._spec.task.done():
            return
        if not self._limiter.take():
            return
        job = self._job(history, tr, history.end, speech_end_at)
        spec = Speculation(job, tr.end)
        self._spec = spec
        spec.task = asyncio.get_running_loop().create_task(self._transcribe(job))
        spec.task.add_done_callback(lambda task: self._maybe_dispatch_early(spec, task))

    def _maybe_dispatch_early(self, spec: Speculation, task: asyncio.Task[Transcript]) -> None:
        """The speculative text is back while speech is still paused: if it is the wake
        phrase and a command matched with a high score, act now instead of waiting."""
        ep = self._ep
        if (
            task.cancelled()
            or task.exception() is not None
            or self._spec is not spec
            or not ep.in_speech
            or ep.last_voiced_end != spec.end
        ):
            return
        t = task.result()
        if trusted(t, spec.job.speech_ratio) is not None:
            return
        assert self.gate is not None
        wake = self.gate.matcher.match(words(t.text))
        if wake is None or not wake.command:
            return
        best = self.registry.match(wake.command, self.config.plugins.match_threshold).best
        if best is None or best.score < self.config.plugins.early_dispatch_score:
            return
        if best.open_end:
            return  # "repeat after me the weather is" ... "nice": the slot may go on
        if self.config.plugins.rescore and best.slots and swaps(self.registry, wake.command, best):
            return  # the audio must settle it first (_settle)
        spec.claimed = True
        self._spec = None
        ep.cut()
        self.early += 1
        self._count(spec.job, "early")
        self._act(spec.job, t)

    # ------------------------------------------------------------------ recognizer
    async def _recognize(self, queue: asyncio.Queue[UtteranceJob | None]) -> None:
        while (job := await queue.get()) is not None:
            try:
                await self._handle(job)
            except Exception as exc:  # a bug in one utterance must not stop the agent
                self.log.exception(f"failed on utterance at {job.start_s:.2f} s: {exc}")

    async def _transcribe(self, job: UtteranceJob) -> Transcript:
        self.transcriptions += 1
        self.busy = True
        try:
            return await self.transcriber.transcribe(job.audio)
        finally:
            self.busy = False

    async def _handle(self, job: UtteranceJob) -> None:
        if job.transcript is None and not self._limiter.take():
            self.dropped_utterances += 1
            self.log.warning("more speech than model.max_transcriptions_per_s allows: dropped")
            self.emit(events.Dropped(self.source.dropped, self.dropped_utterances))
            return
        t = await (job.transcript if job.transcript is not None else self._transcribe(job))
        job, t = await self._reread(job, t)
        # A wake phrase still being checked against the audio may open the follow-up window
        # this utterance falls in ("Okay habu." ... "What time is it?"): in order, as said.
        await self._rescued()
        self._act(job, t)

    async def _reread(self, job: UtteranceJob, t: Transcript) -> tuple[UtteranceJob, Transcript]:
        """The noise suppressor helps tiny.en with a command but can blur the wake phrase
        in front of it ("hey computer" -> "They can do her"). When the cleaned audio's
        reading has no wake phrase and no follow-up window is open, the audio as heard is
        read too, under the same bound as any transcription; its reading is taken if it has
        the wake phrase. Returns the job and transcript to go on with."""
        gate = self.gate
        assert gate is not None

        def woken(x: Transcript) -> bool:
            return (
                trusted(x, job.speech_ratio) is None
                and gate.matcher.match(words(x.text)) is not None
            )

        if job.noisy is None or gate.armed(job.start_s) or woken(t):
            return job, t
        if not self._limiter.take():
            return job, t
        heard = dataclasses.replace(job, audio=job.noisy, denoised=False, noisy=None)
        again = await self._transcribe(heard)
        if woken(again):
            self.log.info(f"cleaned audio: {t.text!r}; as heard: {again.text!r}")
            return heard, again
        return job, t

    def _act(self, job: UtteranceJob, t: Transcript) -> None:
        """From a transcript to a handler: guard, wake gate, match, dispatch."""
        self.emit(
            events.Transcript(
                t.text,
                t.raw,
                round(t.asr_ms, 1),
                round(job.start_s, 3),
                round(job.end_s, 3),
                job.denoised,
            )
        )
        why = trusted(t, job.speech_ratio)
        if why is not None:
            self.log.debug(f"rejected transcript {t.raw!r}: {why}")
            self.emit(events.Rejected(t.raw, why))
            return
        heard_from = job.speech_end_at - (job.end_s - job.start_s) - self.pre_roll / RATE
        if self.output.overlaps(heard_from, job.speech_end_at):
            self.log.debug(f"ignored while the agent was making sound: {t.text!r}")
            self.emit(events.Ignored(t.text, "agent_output"))
            return
        assert self.gate is not None
        heard = words(t.text)
        decision = self.gate.feed(heard, job.start_s, job.end_s)
        if decision.kind == "ignored" and self._check_phrases:
            near = [
                m
                for m in self.gate.matcher.near(heard, WAKE_NEAR)
                if m.phrase in self._check_phrases
            ]
            # a model run, so under the same bound as transcription: a room whose talk keeps
            # opening near the phrase costs no more than model.max_transcriptions_per_s
            if near and self._limiter.take():
                self._background(self._check_wake(job, t, heard, near[:WAKE_CANDIDATES]))
                return
        self._woken(job, t, decision)

    async def _rescued(self) -> None:
        """Wait until no rescoring work runs (``_background``); a checked wake phrase may
        start a rescue of its own, so until the set stays empty."""
        while self._rescues:
            await asyncio.gather(*list(self._rescues), return_exceptions=True)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run rescoring work as a task the agent waits for when it stops."""
        task = asyncio.get_running_loop().create_task(work)
        self._rescues.add(task)
        task.add_done_callback(self._rescues.discard)

    async def _check_wake(
        self, job: UtteranceJob, t: Transcript, heard: list[str], near: list[WakeMatch]
    ) -> None:
        """The opening words came near a wake phrase without matching it ("okay now move"
        for "okay nabu"): put each phrase in their place and ask the audio which reading
        it supports (``agent.rescore``). Heard: carry on as for a matched phrase."""
        own = collapse_repeats(t.raw)
        tried = [(m, with_phrase(own, m.phrase, len(heard) - len(m.command))) for m in near]
        tried = [(m, text) for m, text in tried if text is not None]
        best: tuple[float, WakeMatch] | None = None
        if tried:
            try:
                lps = await self.transcriber.logprobs(job.audio, [own, *(x for _, x in tried)])
                losses = [float(lps[0].sum() - lp.sum()) for lp in lps[1:]]
                best = min(
                    zip(losses, (m for m, _ in tried), strict=True), key=lambda item: item[0]
                )
            except Exception as exc:  # a bonus: never lose the utterance to it
                self.log.error(f"checking the wake phrase in {t.text!r} failed: {exc}")
        if best is None or best[0] > WAKE_MAX_LOSS:
            self._woken(job, t, GateDecision("ignored", heard))
            return
        loss, m = best
        self.log.info(f"heard {t.text!r}; the audio says {m.phrase!r} (loses {loss:.1f})")
        assert self.gate is not None
        self._woken(job, t, self.gate.accept(m, job.end_s))

    def _woken(self, job: UtteranceJob, t: Transcript, decision: GateDecision) -> None:
        """After the wake gate: report the wake, then match and dispatch the command."""
        if decision.phrase is not None:
            self.emit(events.Wake(decision.phrase, decision.score or 0.0, round(job.start_s, 3)))
            self.feedback.wake()
        if decision.kind == "ignored":
            self.log.debug(f"no wake phrase: {t.text!r}")
            self.emit(events.Ignored(t.text, "no_wake_phrase"))
            return
        if decision.kind == "wake_only":
            self.log.info(f"wake phrase {decision.phrase!r}; waiting for a command")
            return
        text = " ".join(decision.command)
        # With rescoring on, a near-miss is judged by the audio, not by whole-string
        # similarity alone ("how long is the film" is not "how long is left").
        ranking = self.registry.match(
            decision.command,
            self.config.plugins.match_threshold,
            loose=not self.config.plugins.rescore,
        )
        match = ranking.best
        if match is None:
            if self.config.plugins.rescore:
                self._background(self._rescue(job, t, decision))
            else:
                self._no_match(text)
            return
        if self.config.plugins.rescore and match.slots:
            alternatives = swaps(self.registry, decision.command, match)
            if alternatives:
                self._background(self._settle(job, t, decision, match, alternatives))
                return
        if ranking.ambiguous and ranking.runner_up is not None:
            other = ranking.runner_up.command
            self.log.warning(
                f"ambiguous: {text!r} fits {match.command.plugin}.{match.command.name} "
                f"({match.score}) and {other.plugin}.{other.name} ({ranking.runner_up.score}); "
                "running the first"
            )
        self._dispatch(job, t, match, text, decision.follow_up)

    def _dispatch(
        self, job: UtteranceJob, t: Transcript, match: Match, text: str, follow_up: bool
    ) -> None:
        timings = Timings(job.start_s, job.end_s, job.speech_end_at, t.asr_ms)
        ctx = self.dispatcher.context(match, text, t.raw, timings)
        self.dispatcher.dispatch(match, ctx, follow_up)

    def _no_match(self, text: str) -> None:
        self.log.info(f"no command matches {text!r}")
        self.emit(events.NoMatch(text))
        if self.config.plugins.fallback == "sorry":
            self.dispatcher.say("voiceflow", "Sorry, I didn't catch that")

    async def _rescue(self, job: UtteranceJob, t: Transcript, decision: GateDecision) -> None:
        """No command matched the words: ask the model which command the audio says
        (``agent.rescore``); run it, or fall back as for any unmatched command."""
        found = candidates(self.registry, decision.command)
        scores = await self._scores(job, t, decision, [c.text for c in found]) if found else None
        chosen = choose(scores[0], list(zip(scores[1:], found, strict=True))) if scores else None
        if scores is None or chosen is None:
            self._no_match(" ".join(decision.command))
            return
        self._run_heard_as(job, t, decision, chosen, scores[1 + found.index(chosen)], scores[0])

    async def _settle(
        self,
        job: UtteranceJob,
        t: Transcript,
        decision: GateDecision,
        match: Match,
        alternatives: Sequence[Candidate],
    ) -> None:
        """A slot took the one word in which another command's phrase differs ("cancel
        out timers": a timer named "out", or "cancel all timers"): ask the model which the
        audio says, and run the other command only if the audio supports its phrase nearly
        as well as the words heard (``rescore.SWAP_GAP``)."""
        scores = await self._scores(job, t, decision, [c.text for c in alternatives])
        if scores is not None:
            score, chosen = max(zip(scores[1:], alternatives, strict=True), key=lambda x: x[0])
            if scores[0] - score <= SWAP_GAP and score >= MIN_LOGPROB:
                self._run_heard_as(job, t, decision, chosen, score, scores[0])
                return
        self._dispatch(job, t, match, " ".join(decision.command), decision.follow_up)

    async def _scores(
        self, job: UtteranceJob, t: Transcript, decision: GateDecision, phrases: Sequence[str]
    ) -> list[float] | None:
        """The model's own reading's score, then each command phrase's, said after the
        wake phrase as it was heard ("A computer, ...") so that only the command part is
        compared; None if scoring failed (logged: it is a bonus, never lose the utterance)."""
        text = " ".join(decision.command)
        own = collapse_repeats(t.raw)  # a loop would score its own copies as likely
        prefix = _wake_part(own, t, decision)
        try:
            texts = [own, *(prefix + sentence(p) for p in phrases)]
            scores = await self.transcriber.rescore(job.audio, texts)
        except Exception as exc:
            self.log.error(f"rescoring {text!r} failed: {exc}")
            return None
        self.log.debug(
            f"rescoring {text!r}: {scores[0]:.2f} as heard; "
            + ", ".join(f"{p!r} {x:.2f}" for p, x in zip(phrases, scores[1:], strict=True))
        )
        return scores

    def _run_heard_as(
        self,
        job: UtteranceJob,
        t: Transcript,
        decision: GateDecision,
        chosen: Candidate,
        score: float,
        heard: float,
    ) -> None:
        """Run the command whose phrase the audio supports, and say so (``rescored``)."""
        text = " ".join(decision.command)
        cmd = chosen.match.command
        self.log.info(
            f"heard {text!r}; the audio says {chosen.text!r} ({cmd.plugin}.{cmd.name}, "
            f"{score:.2f} against {heard:.2f} for the words as heard)"
        )
        self.emit(events.Rescored(text, chosen.text, cmd.plugin, cmd.name, round(score, 2)))
        self._dispatch(job, t, chosen.match, chosen.text, decision.follow_up)
