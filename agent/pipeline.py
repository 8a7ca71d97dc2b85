"""The pipeline: audio source -> VAD/endpointing -> transcription -> wake -> dispatch.

Two tasks share the loop. The *listener* consumes audio blocks, scores 32 ms chunks with
Silero VAD, runs the endpointer and cuts finished utterances out of the stream history.
The *recognizer* (``agent.recognize``) awaits transcriptions (done on the model's own
thread), applies the wake gate and starts handlers. Between them sits a bounded utterance
queue: with a live source the oldest waiting utterance is dropped (and counted) when
transcription falls behind; with a file read ``--fast`` the listener simply waits. This
module also owns what lasts the whole run: reloads, status, the watchdog and the loop
monitor, and speculation (transcribing at a pause, to act before the utterance is over).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent import events
from agent.buffer import StreamHistory
from agent.capture import RATE, AudioSource
from agent.config import Config, ConfigError, load_config
from agent.denoise import LEAD_S, Denoiser, noise_power, quietest_power, snr_db
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
from agent.loader import Registry
from agent.ratelimit import RateLimiter
from agent.recognize import Recognizer, UtteranceJob
from agent.reload import PluginWatcher, reload_plugins
from agent.sanitize import Sanitizer
from agent.service import Notifier, watchdog
from agent.speech import Speaker
from agent.transcribe import Transcriber, Transcript
from agent.vad import CHUNK, EnergyGate, SileroVad

UTTERANCE_QUEUE = 4
"""Utterances that may wait for transcription."""
TAIL_MS = 200
"""Trailing silence kept after the end of speech (Whisper finishes words better with it)."""
OPENING = RATE // 4
"""Speech the VAD finds this early in a stream (250 ms) may have begun before it: the noise
is then not learnt from the audio before it alone, which may be the speech's first sound
(a file or a recording that opens with speech measured 0-12 dB and was denoised)."""
LOOP_TICK_S = 0.1
"""How often the loop monitor wakes up."""
LOOP_BLOCKED_S = 1.0
"""A loop that did not run for this long was blocked (a plugin calling time.sleep...)."""


@dataclass
class Speculation:
    """A transcription started when speech paused, before the utterance was over."""

    job: UtteranceJob
    end: int
    """Stream position where speech paused; valid while no voiced audio follows it."""
    task: asyncio.Task[tuple[UtteranceJob, Transcript]] | None = None
    claimed: bool = False
    """Its command was dispatched early; the utterance is finished."""


def _ratio(tr: SpeechEnded | SpeechPaused) -> float:
    return min(1.0, tr.voiced / max(1, tr.end - tr.start))


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
        self.output = OutputLog()
        """When the agent itself made sound (tones, speech): not searched for the wake phrase."""
        self.feedback = Feedback(config.feedback, self.output, log)
        self.speaker = Speaker(config.speech, log, self.output)
        self.dispatcher = Dispatcher(
            config.plugins.settings, config.plugins.timeout_s, self.emit, log, self.speaker
        )
        # Only a live source is bounded: a file read --fast must be processed whole.
        self._limiter = RateLimiter(config.model.max_transcriptions_per_s if source.live else 1e9)
        self.recognizer = Recognizer(
            config,
            transcriber,
            registry,
            self.dispatcher,
            self.feedback,
            self.output,
            self._limiter,
            self.emit,
            log,
            self.pre_roll,
        )
        self._apply(config)
        self._reloading = asyncio.Lock()
        self.notifier = notifier or Notifier({})
        self.utterances = 0
        self.dropped_utterances = 0
        self.last_audio = 0.0
        """``time.monotonic()`` of the newest audio block (0 before the first)."""
        self._stopping = False
        self._listener: asyncio.Task[None] | None = None
        self._ep = Endpointer(self.params)
        self._spec: Speculation | None = None
        self.early = 0
        """Commands dispatched at a pause, before the end of the utterance."""
        self.denoised = 0
        """Utterances whose steady noise was taken out (``audio.denoise``)."""
        self._lead = int(RATE * LEAD_S)
        self.sanitizer = Sanitizer(self._audio_fixed)
        self.loop_blocked = 0
        """Times the loop was found blocked for more than ``LOOP_BLOCKED_S``."""
        self.queue_peak = 0
        """Most utterances ever waiting for the model at once (bounded by UTTERANCE_QUEUE)."""
        self._drops_reported_at = 0.0
        """``time.monotonic()`` of the last report of dropped capture blocks."""

    def emit(self, event: events.Event) -> None:
        self.sink.emit(event)
        if isinstance(event, (events.CommandError, events.NoMatch)):
            self.feedback.error()

    def _audio_fixed(self, kind: str, message: str) -> None:
        self.log.warning(f"{self.source.name}: {message}")
        self.emit(events.AudioFixed(kind, message))

    @property
    def transcriptions(self) -> int:
        """Model runs that transcribed an utterance (at a pause, at its end, read again)."""
        return self.recognizer.transcriptions

    def _apply(self, config: Config) -> None:
        """Take the parts of ``config`` that can change while running."""
        self.recognizer.apply(config, self.registry)
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
            await self.recognizer.settled()
            await self.dispatcher.drain(grace_s=3.0)
            await self.speaker.close()
        stopped = events.Stopped(
            self.utterances,
            self.dispatcher.commands,
            self.source.dropped,
            self.dropped_utterances,
            self.recognizer.transcriptions,
            self.early,
            {k: n for k, n in self.sanitizer.counts.items() if n},
            self.loop_blocked,
            self.denoised,
            self.recognizer.dereverbed,
        )
        self.emit(stopped)
        return stopped

    def alive(self) -> bool:
        """Audio is arriving (checked by the watchdog, from the loop)."""
        return self.last_audio > 0 and time.monotonic() - self.last_audio < 2.0

    def status_line(self) -> str:
        state = "transcribing" if self.recognizer.busy else "listening"
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
        gate = EnergyGate(self.config.vad.energy_gate_db)
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
        if held == 0 and speech_at < OPENING:  # the stream opened with this speech: what
            # is before it may be its first sound, so the quietest part of it all counts
            quiet = quietest_power(audio)
            noise = quiet if noise is None or quiet is None else min(noise, quiet)
        noise = noise or 0.0
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
        spec.task = asyncio.get_running_loop().create_task(self.recognizer.read(job))
        spec.task.add_done_callback(lambda task: self._maybe_dispatch_early(spec, task))

    def _maybe_dispatch_early(
        self, spec: Speculation, task: asyncio.Task[tuple[UtteranceJob, Transcript]]
    ) -> None:
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
        job, t = task.result()
        if not self.recognizer.acts_early(job, t):
            return
        spec.claimed = True
        self._spec = None
        ep.cut()
        self.early += 1
        self._count(job, "early")
        self.recognizer.act(job, t)

    # ------------------------------------------------------------------ recognizer
    async def _recognize(self, queue: asyncio.Queue[UtteranceJob | None]) -> None:
        while (job := await queue.get()) is not None:
            if job.transcript is None and not self._limiter.take():
                self.dropped_utterances += 1
                self.log.warning("more speech than model.max_transcriptions_per_s allows: dropped")
                self.emit(events.Dropped(self.source.dropped, self.dropped_utterances))
                continue
            try:
                await self.recognizer.handle(job)
            except Exception as exc:  # a bug in one utterance must not stop the agent
                self.log.exception(f"failed on utterance at {job.start_s:.2f} s: {exc}")
