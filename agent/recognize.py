"""The recognizer: from an utterance's audio to a handler.

It transcribes the utterance (on the model's own thread), reads a denoised one again from
the audio as heard when the cleaned reading lost the wake phrase, guards against
hallucinations and against the agent hearing itself, applies the wake gate, matches the
command and dispatches it. Where the words alone do not settle it, it asks the model which
reading the audio supports (``agent.rescore``): a wake phrase the words only came near, a
command no template matched, a slot that took another command's word. That work runs in
the background and is awaited in order (``settled``) so commands run as they were said.

``agent.pipeline`` feeds it utterances cut from the stream and owns everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent import events
from agent.capture import RATE
from agent.config import Config
from agent.dereverb import Dereverb
from agent.dispatch import Dispatcher
from agent.feedback import Feedback, OutputLog
from agent.leftoff import BREAK_COST, break_readings, leaves_off
from agent.loader import Match, Registry
from agent.numbers import Said
from agent.plugin import Timings
from agent.ratelimit import RateLimiter
from agent.rescore import (
    KNOWN_GAP,
    MIN_LOGPROB,
    UNHEARD_NUMBERS,
    WAKE_CANDIDATES,
    WAKE_MAX_LOSS,
    WAKE_MAX_LOSS_BEFORE_COMMAND,
    WAKE_NEAR,
    WAKE_OPENING_EXTRA,
    Candidate,
    Known,
    candidates,
    choose,
    closeness,
    known_fills,
    named_number,
    no_number,
    number_prefix,
    plainer,
    repairs,
    sentence,
    split_words,
    text_slots,
    to_settle,
    with_phrase,
)
from agent.text import collapse_repeats, is_phantom, words
from agent.timefills import (
    HOURS,
    HOURS_ASKED,
    hour_prefix,
    minutes_asks,
    time_fills,
    time_heard,
)
from agent.transcribe import Transcriber, Transcript
from agent.wake import (
    DETERMINERS,
    GateDecision,
    WakeGate,
    WakeMatch,
    WakeMatcher,
    as_subject,
    asked,
    greeting,
)

MIN_SPEECH_RATIO = 0.3
"""Utterances the VAD called speech for less than this share of are not acted on."""
MIN_AVG_LOGPROB = -1.5
"""Transcripts Whisper is less sure of than this (mean token log-probability) are dropped."""
MAX_COMPRESSION = 2.4
"""Transcripts whose text compresses more than this (gzip) loop and are dropped, unless
they are one phrase over and over (``_loop_of_a_phrase``)."""
MIN_LOOP_WORDS = 3
"""A loop is taken for a phrase said once only when the phrase has this many different
words ("hey computer stop"): shorter loops are what Whisper writes for noise."""


@dataclass(frozen=True)
class UtteranceJob:
    """An utterance cut from the stream, for the recognizer."""

    audio: np.ndarray
    start_s: float
    end_s: float
    speech_end_at: float
    transcript: asyncio.Task[tuple[UtteranceJob, Transcript]] | None = None
    """A speculative reading of exactly this audio (``Recognizer.read``), started at the
    pause, to reuse."""
    speech_ratio: float = 1.0
    """Share of the utterance (start to end of speech) the VAD called speech."""
    snr_db: float = 0.0
    """How far its speech stood above the noise floor."""
    denoised: bool = False
    """Its steady noise was taken out (``audio.denoise``)."""
    noisy: np.ndarray | None = None
    """When ``denoised``: the audio as heard, to read again if the cleaned audio's reading
    has no wake phrase (``Recognizer._reread``)."""
    dereverbed: bool = False
    """Its room's echo was taken out (``audio.dereverb``, ``Recognizer.read``)."""


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


def trusted(t: Transcript, speech_ratio: float = 1.0) -> str | None:
    """Why a transcript should not be acted on, or None when it is fine. The layers of the
    hallucination guard: the VAD must have heard mostly speech, Whisper must think there
    was speech and be fairly sure of its words, the text must not loop (but one phrase over
    and over counts once), and it must not be one of the phrases Whisper invents for
    non-speech, once or over and over."""
    if not t.raw:
        return "empty"
    if speech_ratio < MIN_SPEECH_RATIO:
        return "little_speech"
    if t.no_speech_prob > 0.6 and t.avg_logprob < -1.0:
        return "no_speech"
    if t.avg_logprob < MIN_AVG_LOGPROB:
        return "unsure"
    if t.compression_ratio > MAX_COMPRESSION and not _loop_of_a_phrase(t.raw, t.once):
        return "repetitive"
    if is_phantom(t.raw) or is_phantom(t.once):
        return "phantom"
    return None


def _loop_of_a_phrase(raw: str, once: str) -> bool:
    """Is ``raw`` one phrase written over and over ("Hey computer tell me a joke. Hey
    computer tell me a joke. Hey computer"), which ``collapse_repeats`` keeps once
    (``once``) and which is no loop once kept once? tiny.en loops so on clear speech too,
    and the text acted on is the phrase kept once. A loop of one sound ("Aaaa…") is not
    changed, and one of a word or two ("you you you", "Thank you. Thank you.") is no
    phrase: what the model writes for noise."""
    from faster_whisper.transcribe import get_compression_ratio

    return (
        once != raw
        and len(set(words(once))) >= MIN_LOOP_WORDS
        and get_compression_ratio(once) <= MAX_COMPRESSION
    )


def _before_command(t: Transcript, decision: GateDecision) -> int:
    """How many of the transcript's words come before the command's ("A computer, cancel
    all time in.": 2)."""
    return len(words(t.text)) - len(decision.command)


def _opening(own: str, t: Transcript, decision: GateDecision) -> tuple[str, str] | None:
    """The model's own reading ``own`` cut where the command's words begin: ("A computer,",
    "cancel all time in."); None where a token holds words on both sides."""
    return split_words(own, _before_command(t, decision))


def _wake_part(own: str, t: Transcript, decision: GateDecision) -> str:
    """The wake phrase as it was heard ("A computer, "), to open each phrase scored against
    the model's own reading ``own``."""
    cut = _opening(own, t, decision)
    if cut is None or not cut[0]:
        return f"{decision.phrase.capitalize()}, " if decision.phrase else ""
    return cut[0] + " "


def straight_on(t: Transcript, decision: GateDecision) -> bool:
    """Did a one-word wake phrase run straight into the words after it, with no pause that
    Whisper marked, where it may be the word used in a sentence? Either it opened the
    utterance ("Computer games are more popular ...", not "Computer, what is the date?"),
    unless a question is put to it (``wake.asked``: "computer will it rain tomorrow"),
    or a verb after it makes it the subject (``wake.as_subject``: "The school computer can
    print in color now", not "The computer, could ..."), or it comes after "a", "the", "my"
    and the like (``wake.DETERMINERS``: "A computer for no idea what a joke is.", "the
    computer in which the team is too slow"). Then the wake counts only if the words make
    a command, directly or rescored. Another word before it and no such verb ("They
    computer turn off the lights") is most often "hey computer" misheard, and is left as
    it was."""
    if decision.kind != "command" or decision.follow_up or decision.phrase is None:
        return False
    if len(words(decision.phrase)) != 1:
        return False
    heard = words(t.text)
    opening = _before_command(t, decision)
    # the phrase's own word, where the words that stood for it ran on past it ("A
    # computer has" checked as "computer"): the pause and the verb are looked for after it
    n = heard.index(decision.phrase) + 1 if decision.phrase in heard[:opening] else opening
    cut = split_words(t.once, n)
    if cut is None or not cut[0][-1:].isalnum():
        return False
    if n == 1:  # it opened the words: talk, unless a question is put to it
        return not asked(heard[n:])
    if heard[n - 2] in DETERMINERS:  # "A computer has no idea ...": a noun, unless a command
        return True
    return as_subject(decision.phrase, heard[n:])


class Recognizer:
    """Turns utterances into handler runs. One per pipeline; ``apply`` takes a new config
    and plugin registry on reload."""

    def __init__(
        self,
        config: Config,
        transcriber: Transcriber,
        registry: Registry,
        dispatcher: Dispatcher,
        feedback: Feedback,
        output: OutputLog,
        limiter: RateLimiter,
        emit: Callable[[events.Event], None],
        log: Any,
        pre_roll: int,
    ) -> None:
        self.transcriber = transcriber
        self.dispatcher = dispatcher
        self.feedback = feedback
        self.output = output
        """When the agent itself made sound: what was heard then is not acted on."""
        self.limiter = limiter
        """Bounds model runs (transcriptions and scoring) per second."""
        self.emit = emit
        self.log = log
        self.pre_roll = pre_roll
        """Samples of audio kept before the start of speech (the pipeline's framing)."""
        self.gate: WakeGate | None = None
        self.transcriptions = 0
        self.dereverbed = 0
        """Readings of audio whose room's echo was taken out (``audio.dereverb``): an
        utterance read at a pause and again at its end counts twice."""
        self.busy = False
        """True while an utterance is being transcribed."""
        self._rescues: set[asyncio.Task[None]] = set()
        """Rescoring of unmatched commands in progress (awaited before stopping)."""
        self.config = config
        self.registry = registry
        self.apply(config, registry)

    def apply(self, config: Config, registry: Registry) -> None:
        """Take the parts of ``config`` that can change while running, and the plugins."""
        w = config.wake
        if w.rescore == "auto":
            self._check_phrases = unusual(w.phrases, self.transcriber.is_rare)
        else:
            self._check_phrases = frozenset(w.phrases if w.rescore == "all" else ())
        if self.gate is None or w != self.config.wake:
            unasked = set(w.phrases) - self._check_phrases
            self.gate = WakeGate(WakeMatcher.from_config(w, unasked), w.follow_up_s)
        hotwords = bias_words(config, registry, self.transcriber.is_rare)
        if hotwords != getattr(self.transcriber, "hotwords", hotwords):
            self.transcriber.set_hotwords(hotwords)
        self.dereverb = Dereverb(config.audio.dereverb)
        self.config = config
        self.registry = registry

    async def handle(self, job: UtteranceJob) -> None:
        """An utterance is over: its room's echo taken out where there is one, its
        transcript (the one started at a pause, if it covers the same audio), then act on
        it."""
        job, t = await (job.transcript if job.transcript is not None else self.read(job))
        job, t = await self._reread(job, t)
        # A wake phrase still being checked against the audio may open the follow-up window
        # this utterance falls in ("Okay habu." ... "What time is it?"): in order, as said.
        await self.settled()
        self.act(job, t)

    def acts_early(self, job: UtteranceJob, t: Transcript) -> bool:
        """Is the transcript made at a pause already certain enough to act on: the wake
        phrase, then a command matched with a high score whose slots cannot go on or be
        another command's word?"""
        if trusted(t, job.speech_ratio) is not None:
            return False
        assert self.gate is not None
        wake = self.gate.matcher.match(words(t.text))
        if wake is None or not wake.command:
            return False
        best = self.registry.match(wake.command, self.config.plugins.match_threshold).best
        if best is None or best.score < self.config.plugins.early_dispatch_score:
            return False
        if best.open_end:
            return False  # "repeat after me the weather is" ... "nice": the slot may go on
        # a slot that took another command's word, a word that may have lost its end, or a
        # name the plugin does not know: the audio must settle it first (_settle)
        return not (
            self.config.plugins.rescore
            and (
                to_settle(self.registry, wake.command, best)[0]
                or known_fills(best, wake.command, self.dispatcher.known(best.command))
            )
        )

    async def read(self, job: UtteranceJob) -> tuple[UtteranceJob, Transcript]:
        """The utterance's transcript, and the job it was read from: with the room's echo
        taken out of its audio where there is one (``audio.dereverb``, off the event loop),
        which is the audio rescoring then asks about. With ``auto`` the audio is read as
        heard while the quick pass looks for an echo, so close speech waits for nothing
        (a few milliseconds before a pause's reading decide whether a command runs at the
        pause); that reading is dropped where an echo is found."""
        d = self.dereverb
        if not d.applies(job.audio):
            return job, await self.transcribe(job)
        heard = None if d.mode == "always" else asyncio.ensure_future(self.transcribe(job))
        if not await asyncio.to_thread(d.echoes, job.audio):
            assert heard is not None  # "always" echoes
            return job, await heard
        clear = await asyncio.to_thread(d.clear, job.audio)
        if heard is not None:  # dropped; the model reads one utterance at a time
            with contextlib.suppress(Exception):
                await heard
        self.dereverbed += 1
        job = dataclasses.replace(job, audio=clear, dereverbed=True)
        return job, await self.transcribe(job)

    async def transcribe(self, job: UtteranceJob) -> Transcript:
        self.transcriptions += 1
        self.busy = True
        try:
            return await self.transcriber.transcribe(job.audio)
        finally:
            self.busy = False

    async def _reread(self, job: UtteranceJob, t: Transcript) -> tuple[UtteranceJob, Transcript]:
        """The noise suppressor helps tiny.en with a command but can blur the wake phrase
        in front of it ("hey computer" -> "They can do her"). When the cleaned audio's
        reading has no wake phrase and no follow-up window is open, the audio as heard is
        read too, under the same bound as any transcription; its reading is taken if it has
        the wake phrase, or the one-word phrase after "a" or "the", which the audio then
        settles ("a computer, cancel all time in"). Returns the job and transcript to go on
        with."""
        gate = self.gate
        assert gate is not None

        def woken(x: Transcript) -> bool:
            return (
                trusted(x, job.speech_ratio) is None
                and gate.matcher.match(words(x.text), nouns=True) is not None
            )

        if job.noisy is None or gate.armed(job.start_s) or woken(t):
            return job, t
        if not self.limiter.take():
            return job, t
        heard = dataclasses.replace(job, audio=job.noisy, denoised=False, noisy=None)
        again = await self.transcribe(heard)
        if woken(again):
            self.log.info(f"cleaned audio: {t.text!r}; as heard: {again.text!r}")
            return heard, again
        return job, t

    def act(self, job: UtteranceJob, t: Transcript) -> None:
        """From a transcript to a handler: guard, wake gate, match, dispatch."""
        self.emit(
            events.Transcript(
                t.text,
                t.raw,
                round(t.asr_ms, 1),
                round(job.start_s, 3),
                round(job.end_s, 3),
                job.denoised,
                job.dereverbed,
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
            near = self._unheard(heard)
            # a model run, so under the same bound as transcription: a room whose talk keeps
            # opening near the phrase costs no more than model.max_transcriptions_per_s
            if near and self.limiter.take():
                self._background(self._check_wake(job, t, heard, near))
                return
        self._woken(job, t, decision)

    def _unheard(self, heard: list[str]) -> list[WakeMatch]:
        """Wake phrases the audio may hold though the words do not: the phrases the opening
        words come near (``WakeMatcher.near``); when the words are a command on their own,
        each phrase in front of them, since Whisper sometimes leaves the phrase out ("What
        is the date?" for flite's "computer, what is the date" at 20 dB); and when a few
        words come before an exact command, each phrase in their place ("Take a viewer,
        start a 10-minute timer."; ``rescore.WAKE_OPENING_EXTRA``). The audio settles each
        (``_check_wake``)."""
        assert self.gate is not None
        near = [
            m for m in self.gate.matcher.near(heard, WAKE_NEAR) if m.phrase in self._check_phrases
        ][:WAKE_CANDIDATES]
        threshold = self.config.plugins.match_threshold
        phrases = sorted(self._check_phrases)[:WAKE_CANDIDATES]
        if heard and self.registry.match(heard, threshold).best:
            near += [WakeMatch(p, 0.0, list(heard)) for p in phrases]
            return near  # not also with its first words cut: "Set a timer ..." is said whole
        longest = max((len(p.split()) for p in phrases), default=0) + WAKE_OPENING_EXTRA
        for span in range(1, min(longest, len(heard) - 2) + 1):  # two command words at least
            best = self.registry.match(heard[span:], threshold).best
            if best is not None and best.score >= 100:
                # not after a greeting to any phrase: "Hey man, what time is it?" is said to
                # a person (put in its place, "okay nabu" came 1.9 from waking the agent)
                if not any(greeting(heard[:span], p.split()) for p in phrases):
                    rest = list(heard[span:])
                    near += [
                        WakeMatch(p, 0.0, rest)
                        for p in phrases
                        if span <= len(p.split()) + WAKE_OPENING_EXTRA
                    ]
                break
        return near[: 2 * WAKE_CANDIDATES]

    async def settled(self) -> None:
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
        for "okay nabu"), or a command came without one: put each phrase in their place, or
        in front, and ask the audio which reading it supports (``agent.rescore``). Heard:
        carry on as for a matched phrase."""
        own = t.once
        readings = ((m, with_phrase(own, m.phrase, len(heard) - len(m.command))) for m in near)
        tried = [(m, text) for m, text in readings if text is not None]
        best: tuple[float, WakeMatch] | None = None  # (loss, phrase), if within its allowance
        if tried:
            try:
                lps = await self.transcriber.logprobs(job.audio, [own, *(x for _, x in tried)])
                losses = [float(lps[0].sum() - lp.sum()) for lp in lps[1:]]
                allowed = [self._loss_allowed(m) for m, _ in tried]
                i = min(range(len(tried)), key=lambda j: losses[j] - allowed[j])
                m = tried[i][0]
                self.emit(events.WakeChecked(t.text, m.phrase, round(losses[i], 2), allowed[i]))
                if losses[i] <= allowed[i]:
                    best = (losses[i], m)
            except Exception as exc:  # a bonus: never lose the utterance to it
                self.log.error(f"checking the wake phrase in {t.text!r} failed: {exc}")
        if best is None:
            self._woken(job, t, GateDecision("ignored", heard))
            return
        loss, m = best
        self.log.info(f"heard {t.text!r}; the audio says {m.phrase!r} (loses {loss:.1f})")
        assert self.gate is not None
        self._woken(job, t, self.gate.accept(m, job.end_s))

    def _loss_allowed(self, m: WakeMatch) -> float:
        """How much a reading with the phrase may lose: more when the words after it are a
        command, or as near one as a match must be (``rescore.WAKE_MAX_LOSS_BEFORE_COMMAND``;
        rescoring may still make them one)."""
        threshold = self.config.plugins.match_threshold
        if m.command and (
            self.registry.match(m.command, threshold).best
            or closeness(self.registry, m.command) >= threshold
        ):
            return WAKE_MAX_LOSS_BEFORE_COMMAND
        return WAKE_MAX_LOSS

    def _woken(self, job: UtteranceJob, t: Transcript, decision: GateDecision) -> None:
        """After the wake gate: report the wake, then match and dispatch the command. A
        one-word phrase run straight into the words (``straight_on``) is reported only
        once the words turn out to be a command."""
        tentative = straight_on(t, decision)
        if decision.phrase is not None and not tentative:
            self._wake(job, decision)
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
                self._background(self._rescue(job, t, decision, tentative))
            elif tentative:
                self._not_addressed(t)
            else:
                self._no_match(text)
            return
        if tentative:
            self._wake(job, decision)
        rescore = self.config.plugins.rescore
        known = self.dispatcher.known(match.command) if rescore else {}
        fills = known_fills(match, decision.command, known)
        if t.alternatives and text_slots(match) and not fills:
            plain = self._plainer(t, decision, match)
            if plain is not None:
                self._dispatch(job, t, plain[0], plain[1], decision.follow_up)
                return
        if rescore:
            alternatives, gap = to_settle(self.registry, decision.command, match, known)
            settle = [(c, gap) for c in alternatives] + [(c, KNOWN_GAP) for c in fills]
            if settle:
                self._background(self._settle(job, t, decision, match, settle))
                return
        if ranking.ambiguous and ranking.runner_up is not None:
            other = ranking.runner_up.command
            self.log.warning(
                f"ambiguous: {text!r} fits {match.command.plugin}.{match.command.name} "
                f"({match.score}) and {other.plugin}.{other.name} ({ranking.runner_up.score}); "
                "running the first"
            )
        self._dispatch(job, t, match, text, decision.follow_up)

    def _known(self) -> Known:
        """The slot values each plugin knows now (``command(known=...)``; the timers
        running), for the commands that have any: a rescue's candidates may be any
        command's (a matched command asks the dispatcher for its own)."""
        known = {}
        for cmd in self.registry.commands:
            values = self.dispatcher.known(cmd) if cmd.known else {}
            if values:
                known[(cmd.plugin, cmd.name)] = values
        return known

    def _plainer(
        self, t: Transcript, decision: GateDecision, match: Match
    ) -> tuple[Match, str] | None:
        """A command with free text: the beam's other readings that give the same command
        may hold it in plainer words (``rescore.plainer``). That reading's match and command
        words, or None to keep the transcript's."""
        assert self.gate is not None
        threshold = self.config.plugins.match_threshold
        readings: list[tuple[float, Match, list[str]]] = []  # (score, match, command words)
        for raw, score in t.alternatives:
            heard = words(collapse_repeats(raw))
            if not decision.follow_up:
                wake = self.gate.matcher.match(heard)
                heard = wake.command if wake is not None else []
            m = self.registry.match(heard, threshold, loose=False).best if heard else None
            if m is not None:
                readings.append((score, m, heard))
        others = [(s, m) for s, m, _ in readings]
        chosen = plainer((t.avg_logprob, match), others, self.transcriber.pieces)
        if chosen is match:
            return None
        score, _, heard = next(r for r in readings if r[1] is chosen)
        text, before = " ".join(heard), " ".join(decision.command)
        self.log.info(f"heard {before!r}; the beam's reading in plainer words: {text!r}")
        cmd = chosen.command
        self.emit(
            events.Rescored(
                before, text, cmd.plugin, cmd.name, round(score, 2), round(t.avg_logprob, 2)
            )
        )
        return chosen, text

    def _wake(self, job: UtteranceJob, decision: GateDecision) -> None:
        assert decision.phrase is not None
        self.emit(events.Wake(decision.phrase, decision.score or 0.0, round(job.start_s, 3)))
        self.feedback.wake()

    def _not_addressed(self, t: Transcript) -> None:
        """The phrase opened talk that is no command ("Computer games are more popular
        ..."): nothing is said back."""
        self.log.debug(f"a wake word opened talk, not a command: {t.text!r}")
        self.emit(events.Ignored(t.text, "no_wake_phrase"))

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

    async def _rescue(
        self, job: UtteranceJob, t: Transcript, decision: GateDecision, tentative: bool = False
    ) -> None:
        """No command matched the words: ask the model which command the audio says
        (``agent.rescore``); run it, or fall back as for any unmatched command. With
        ``tentative``, the wake is reported only if a command is found; if none is, the
        utterance counts as talk (``straight_on``)."""
        known = self._known()
        near = candidates(self.registry, decision.command, known=known)
        number = await self._number(job, t, decision, near)
        if number is not None:
            near = candidates(self.registry, decision.command, known=known, number=number)
        found = [
            *near,
            *repairs(self.registry, decision.command, known=known),
            *await self._times(job, t, decision),
        ]
        scores = await self._scores(job, t, decision, [c.text for c in found]) if found else None
        chosen = (
            choose(
                scores[0],
                list(zip(scores[1:], found, strict=True)),
                decision.command,
                self.transcriber.pieces,
                self.registry,
            )
            if scores
            else None
        )
        if chosen is not None and not await self._may_leave_off(job, t, decision, chosen):
            chosen = None
        if scores is None or chosen is None:
            if tentative:
                self._not_addressed(t)
            else:
                self._no_match(" ".join(decision.command))
            return
        if tentative:
            self._wake(job, decision)
        self._run_heard_as(job, t, decision, chosen, scores[1 + found.index(chosen)], scores[0])

    async def _number(
        self, job: UtteranceJob, t: Transcript, decision: GateDecision, near: list[Candidate]
    ) -> int | None:
        """The number the audio says, where a phrase with a number slot is among the
        candidates ``near`` and no number was heard (``rescore.number_prefix``: "set up a
        minute timer" -> 5, asked after "set a"); None where it names none."""
        ask = number_prefix(near, decision.command)
        logprobs = await self._asked(job, t, decision, ask, UNHEARD_NUMBERS, "number")
        return None if logprobs is None else named_number(logprobs)

    async def _times(
        self, job: UtteranceJob, t: Transcript, decision: GateDecision
    ) -> list[Candidate]:
        """The phrases with a time of day, where its words were heard as none
        (``timefills.time_fills``): of the hour the audio names where they hold no number
        ("remind me at IBM to ...", asked after "remind me at"; ``timefills.hour_prefix``),
        and none where the audio makes no hour likely there (``rescore.no_number``: "remind
        me at home to ..."). Where it names 5 or 10, it is asked for an hour after "at 10
        to" and "at 10 past" too (``timefills.minutes_asks``: "ten to nine" heard as "I tend
        to"), and a time so named is offered as well."""
        heard = time_heard(self.registry, decision.command)
        ask = hour_prefix(self.registry, heard)
        logprobs = await self._asked(job, t, decision, ask, HOURS_ASKED, "hour")
        if logprobs is not None and no_number(logprobs):
            self.log.debug("no hour is likely there: no time is offered")
            return []
        hour = None if logprobs is None else named_number(logprobs)
        also = []
        for minutes_ask, minutes in minutes_asks(ask, hour):  # "at 10" as "10 to 9"?
            asked = await self._asked(job, t, decision, minutes_ask, HOURS, "hour")
            then = None if asked is None else named_number(asked)
            if then is not None:
                also.append(f"{minutes} {then}")
        return time_fills(self.registry, heard, hour=hour, also=also)

    async def _asked(
        self,
        job: UtteranceJob,
        t: Transcript,
        decision: GateDecision,
        ask: str | None,
        numbers: Iterable[Said],
        what: str,
    ) -> dict[Said, float] | None:
        """How likely the audio makes each of ``numbers`` after the words ``ask`` (said
        after the wake phrase as heard; ``Transcriber.number_logprobs``); None where there
        is nothing to ask, or asking failed (logged)."""
        if ask is None:
            return None
        prefix = _wake_part(t.once, t, decision) + ask
        try:
            logprobs = await self.transcriber.number_logprobs(job.audio, prefix, numbers)
        except Exception as exc:
            self.log.error(f"asking the {what} after {prefix!r} failed: {exc}")
            return None
        number = named_number(logprobs)
        ranked = sorted(logprobs.items(), key=lambda x: -x[1])[:3]
        self.log.debug(
            f"the {what} after {prefix!r}: "
            + ", ".join(f"{n} {x:.2f}" for n, x in ranked)
            + ("" if number is None else f"; {number} taken")
        )
        return logprobs

    async def _may_leave_off(
        self, job: UtteranceJob, t: Transcript, decision: GateDecision, chosen: Candidate
    ) -> bool:
        """May ``chosen``'s phrase run though it leaves off words heard after it? Only if
        the audio has them as a sentence of their own, or nearly: a television talking on
        after the command ("what time is it | are you coming to the park"), not a request
        that goes on ("what time is it in london"; ``leftoff.BREAK_COST``), and never if
        the words left off name something in the same sentence ("what time is it in
        London?"). What is asked where is decided from the words (``leftoff.leaves_off``).
        If the break cannot be scored (logged), it may, as before this check."""
        off = leaves_off(
            t.once,
            _before_command(t, decision),
            decision.command,
            words(chosen.text),
        )
        if off is None:
            return True
        if off.names:
            self.log.info(
                f"heard {' '.join(decision.command)!r}: the words after {chosen.text!r} "
                "name something; not run as that"
            )
            return False
        if not off.ask:
            return True
        gain = await self._break_gain(job, t, decision, off.cut)
        return gain is None or gain >= -BREAK_COST

    async def _break_gain(
        self, job: UtteranceJob, t: Transcript, decision: GateDecision, cut: int
    ) -> float | None:
        """How much likelier (total log-probability) the audio makes the heard words with a
        break after the first ``cut`` than without (``leftoff.break_readings``); None if
        scoring failed (logged)."""
        prefix = _wake_part(t.once, t, decision)
        joined, broken = break_readings(decision.command, cut)
        try:
            lps = await self.transcriber.logprobs(
                job.audio, [prefix + x for x in (joined, *broken)]
            )
        except Exception as exc:
            self.log.error(f"scoring a break in {joined!r} failed: {exc}")
            return None
        sums = [float(np.sum(lp)) for lp in lps]
        return max(sums[1:]) - sums[0]

    async def _settle(
        self,
        job: UtteranceJob,
        t: Transcript,
        decision: GateDecision,
        match: Match,
        alternatives: Sequence[tuple[Candidate, float]],
    ) -> None:
        """A slot took the one word in which another command's phrase differs ("cancel
        out timers": a timer named "out", or "cancel all timers"), a word may have lost its
        end ("what is the day" for "what is the date"; ``rescore.lost_ends``), or a slot
        took a value the plugin does not know where it knows others ("cancel this faster
        timer", a pasta timer running; ``rescore.known_fills``): ask the model which the
        audio says, and run the other reading only if the audio supports it nearly as well
        as the words heard, at most its gap less (``rescore.to_settle``, ``KNOWN_GAP``)."""
        scores = await self._scores(job, t, decision, [c.text for c, _ in alternatives])
        if scores is not None:
            near = [
                (score, c)
                for score, (c, gap) in zip(scores[1:], alternatives, strict=True)
                if scores[0] - score <= gap and score >= MIN_LOGPROB
            ]
            if near:
                score, chosen = max(near, key=lambda x: x[0])
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
        own = t.once  # a loop would score its own copies as likely
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
        self.emit(
            events.Rescored(
                text, chosen.text, cmd.plugin, cmd.name, round(score, 2), round(heard, 2)
            )
        )
        self._dispatch(job, t, chosen.match, chosen.text, decision.follow_up)
