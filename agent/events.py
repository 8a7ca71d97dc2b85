"""Events the pipeline reports: one frozen dataclass each, one JSON object per line.

With ``--json`` each event is written to stdout as ``{"event": NAME, ...fields}``;
otherwise replies and errors are printed for a person and everything is logged.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from typing import Any, ClassVar, TextIO


@dataclass(frozen=True)
class Event:
    name: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.name, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class Ready(Event):
    name: ClassVar[str] = "ready"
    source: str
    model: str
    load_s: float
    plugins: list[str]
    wake: str = "hey computer"
    """The first wake phrase, for the hint."""


@dataclass(frozen=True)
class Utterance(Event):
    name: ClassVar[str] = "utterance"
    start_s: float
    """Start of speech, seconds into the audio stream."""
    end_s: float
    """End of speech (end of the last voiced chunk)."""
    reason: str
    """Why it ended: silence, max_length or end_of_stream."""
    snr_db: float = 0.0
    """How far its speech stood above the noise floor (99 for digital silence)."""
    denoised: bool = False
    """Its steady noise was taken out before transcription (``audio.denoise``)."""


@dataclass(frozen=True)
class Transcript(Event):
    name: ClassVar[str] = "transcript"
    text: str
    raw: str
    asr_ms: float
    start_s: float
    end_s: float
    denoised: bool = False
    """Read from the audio with its steady noise taken out (``audio.denoise``)."""
    dereverbed: bool = False
    """Read from the audio with the room's echo taken out (``audio.dereverb``)."""


@dataclass(frozen=True)
class Rejected(Event):
    name: ClassVar[str] = "rejected"
    raw: str
    reason: str
    """Why a transcript was not trusted (e.g. no_speech)."""


@dataclass(frozen=True)
class Wake(Event):
    name: ClassVar[str] = "wake"
    phrase: str
    score: float
    start_s: float


@dataclass(frozen=True)
class WakeChecked(Event):
    """The audio was asked whether it holds a wake phrase the words only came near
    (``wake.rescore``): the reading that came nearest to its allowance."""

    name: ClassVar[str] = "wake_checked"
    text: str
    """The words as heard."""
    phrase: str
    loss: float
    """Total log-probability the reading with ``phrase`` lost against the words as heard."""
    allowed: float
    """The most it could lose and count as said (``rescore.WAKE_MAX_LOSS``, or
    ``WAKE_MAX_LOSS_BEFORE_COMMAND`` before a command)."""


@dataclass(frozen=True)
class Ignored(Event):
    name: ClassVar[str] = "ignored"
    text: str
    """Speech without a wake phrase (or an unmatched command, with reason)."""
    reason: str


@dataclass(frozen=True)
class Command(Event):
    name: ClassVar[str] = "command"
    plugin: str
    command: str
    slots: dict[str, Any]
    reply: str | None
    latency_ms: float
    """Wall time from the end of speech (last voiced chunk captured) to the handler's start."""
    handler_ms: float
    follow_up: bool


@dataclass(frozen=True)
class CommandError(Event):
    name: ClassVar[str] = "command_error"
    plugin: str
    command: str
    error: str


@dataclass(frozen=True)
class NoMatch(Event):
    name: ClassVar[str] = "no_match"
    text: str


@dataclass(frozen=True)
class Rescored(Event):
    name: ClassVar[str] = "rescored"
    heard: str
    """The words after the wake phrase, which matched no command (or whose free text the
    beam also read in plainer words)."""
    text: str
    """The command phrase the audio supports better (forced decoding), or the beam's
    plainer reading (``rescore.plainer``)."""
    plugin: str
    command: str
    logprob: float
    """Its mean token log-probability under the model."""
    heard_logprob: float
    """The words as heard, scored the same way: ``heard_logprob - logprob`` is how much less
    the audio supports the words run than the words heard (``rescore.MAX_GAP`` and the
    like bound it)."""


@dataclass(frozen=True)
class Say(Event):
    name: ClassVar[str] = "say"
    text: str
    plugin: str


@dataclass(frozen=True)
class Dropped(Event):
    name: ClassVar[str] = "dropped"
    blocks: int
    """Capture blocks dropped so far (drop-oldest policy)."""
    utterances: int
    """Utterances dropped so far because transcription fell behind."""


@dataclass(frozen=True)
class AudioFixed(Event):
    name: ClassVar[str] = "audio_fixed"
    kind: str
    """nonfinite (NaN/Inf replaced by silence), clipped, or converted (format/channels)."""
    message: str


@dataclass(frozen=True)
class LoopBlocked(Event):
    name: ClassVar[str] = "loop_blocked"
    seconds: float
    """How long the event loop did not run (something blocked it)."""
    running: list[str]
    """Async handlers (``plugin.command``) that were running at the time: the suspects."""


@dataclass(frozen=True)
class Reloaded(Event):
    name: ClassVar[str] = "reloaded"
    ok: bool
    """False when the new config was rejected (the running one stays)."""
    plugins: list[str]
    errors: list[str]
    """Config or plugin load errors."""
    kept: list[str]
    """Plugins that failed to load now and stay at their previous version."""


@dataclass(frozen=True)
class Stopped(Event):
    name: ClassVar[str] = "stopped"
    utterances: int
    commands: int
    dropped_blocks: int
    dropped_utterances: int
    transcriptions: int
    """Model runs, speculative ones included."""
    early: int
    """Commands dispatched at a pause, before the utterance's silence was over."""
    fixed_blocks: dict[str, int] = dataclasses.field(default_factory=dict)
    """Blocks the sanitiser had to repair, by kind (see ``audio_fixed``)."""
    loop_blocked: int = 0
    """Times the event loop was blocked for longer than a second."""
    denoised: int = 0
    """Utterances whose steady noise was taken out before transcription (``audio.denoise``)."""
    dereverbed: int = 0
    """Readings whose room's echo was taken out before transcription (``audio.dereverb``; a
    pause's reading not reused at the utterance's end counts as well)."""


class EventSink:
    """Writes events: JSON lines when ``json_lines``, else a short line for people."""

    def __init__(self, json_lines: bool, stream: TextIO | None = None) -> None:
        self.json_lines = json_lines
        self.stream = stream if stream is not None else sys.stdout

    def emit(self, event: Event) -> None:
        line = (
            json.dumps(event.to_dict(), ensure_ascii=False, default=str)
            if self.json_lines
            else _human(event)
        )
        if line is None:
            return
        self.stream.write(line + "\n")
        self.stream.flush()


def _human(event: Event) -> str | None:
    if isinstance(event, Ready):
        return f'Listening ({event.source}). Say "{event.wake}, what time is it".'
    if isinstance(event, Command):
        return f"[{event.plugin}] {event.reply}" if event.reply else None
    if isinstance(event, Say):
        return f"[{event.plugin}] {event.text}"
    if isinstance(event, CommandError):
        return f"[{event.plugin}] error in {event.command}: {event.error}"
    if isinstance(event, Reloaded):
        state = "reloaded" if event.ok else "reload failed; still running the old config"
        return f"[voiceflow] {state}: " + "; ".join(event.errors) if event.errors else None
    return None
