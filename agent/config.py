"""Configuration: frozen dataclasses, loaded from YAML with errors that name the key.

Every section is a frozen dataclass; each field carries its default, a docstring, and
optional bounds in ``metadata``. ``load_config`` walks the YAML mapping against these
classes, so an unknown key, a wrong type or an out-of-range value is reported as
``config.yaml: vad.min_silence_ms: must be a positive integer`` (a ``ConfigError``),
and the CLI exits with code 2.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

BUNDLED = "@bundled"
"""Stands, in ``plugins.dirs``, for the plugins shipped with VoiceFlow."""


class ConfigError(Exception):
    """A configuration value is wrong; the message names the file, key path and reason."""


def _bounds(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    return {"min": lo, "max": hi}


@dataclass(frozen=True)
class AudioConfig:
    device: int | str | None = None
    """Input device: an index from ``voiceflow devices``, a substring of its name, or null
    for the system default."""

    block_ms: int = field(default=32, metadata=_bounds(10, 200))
    """Length of one capture block in milliseconds (32 ms = 512 samples at 16 kHz)."""

    queue_s: float = field(default=10.0, metadata=_bounds(0.5, 600))
    """Seconds of audio the capture hand-off holds. When the consumer falls this far behind,
    the oldest block is dropped and counted (the drop policy)."""

    denoise: str = "auto"
    """Take steady noise (fans, hum, hiss) out of an utterance before it is transcribed
    (``agent.denoise``): ``auto`` when its speech is less than ``denoise_below_db`` above
    the noise floor, ``always``, or ``never``. When the cleaned audio's reading has no wake
    phrase, the audio as heard is read as well (the suppressor can blur the phrase)."""

    denoise_below_db: float = field(default=15.0, metadata=_bounds(0, 60))
    """With ``denoise: auto``, utterances whose mean power is less than this many dB above
    the learnt noise floor are cleaned (a quiet room with a close talker is 30 dB or more)."""

    denoise_level: int = field(default=3, metadata=_bounds(1, 4))
    """How hard WebRTC's suppressor works: 1 (mild) to 4 (strongest)."""

    dereverb: str = "auto"
    """Take a room's echo out of an utterance before it is read (``agent.dereverb``, WPE):
    ``auto`` where a quick pass finds one (a few milliseconds an utterance, then about 0.2 s
    more for one said across a room), ``always``, or ``never``."""


@dataclass(frozen=True)
class VadConfig:
    threshold: float = field(default=0.5, metadata=_bounds(0.01, 0.99))
    """Silero speech probability at or above which a 32 ms chunk counts as speech."""

    neg_threshold: float = field(default=0.35, metadata=_bounds(0.0, 0.99))
    """Once in speech, chunks stay voiced down to this probability (hysteresis)."""

    pre_roll_ms: int = field(default=300, metadata=_bounds(0, 2000))
    """Audio kept from before the first voiced chunk, so the first syllable is not cut."""

    min_silence_ms: int = field(default=500, metadata=_bounds(1, 10000))
    """Silence after speech that ends an utterance."""

    min_speech_ms: int = field(default=120, metadata=_bounds(0, 5000))
    """Utterances with less voiced audio than this are discarded as clicks and bumps."""

    max_utterance_s: float = field(default=15.0, metadata=_bounds(1, 30))
    """An utterance is cut here even if speech goes on (Whisper's window is 30 s)."""

    energy_gate_db: float = field(default=3.0, metadata=_bounds(0, 30))
    """Chunks within this many dB of the learnt noise floor skip the VAD model (silence
    and steady noise then cost almost nothing); 0 runs the model on every chunk."""

    speculative_ms: int = field(default=160, metadata=_bounds(0, 10000))
    """After this much silence, start transcribing speculatively instead of waiting for
    ``min_silence_ms``; kept if speech does not resume (0 turns this off)."""


@dataclass(frozen=True)
class ModelConfig:
    path: str | None = None
    """A CTranslate2 Whisper model directory, or null for the bundled tiny.en.
    Nothing is ever downloaded."""

    compute_type: str = "int8"
    """CTranslate2 compute type: int8, int8_float32, float32, ..."""

    cpu_threads: int = field(default=0, metadata=_bounds(0, 256))
    """Threads for inference; 0 lets CTranslate2 choose."""

    beam_size: int = field(default=3, metadata=_bounds(1, 10))
    """Beam width for spoken commands; 1 is greedy decoding. 3 measured +3.6 points of
    command accuracy and +24 ms against greedy (docs/ACCURACY.md)."""

    transcribe_beam_size: int = field(default=2, metadata=_bounds(1, 10))
    """Beam width for ``voiceflow transcribe`` of files (2: 39x real time here, 5: 30x)."""

    language: str = "en"
    """Spoken language code (tiny.en knows only English)."""

    max_transcriptions_per_s: float = field(default=2.0, metadata=_bounds(0.01, 100))
    """Upper bound on model runs per second on average (bursts of 3), so a talk or a TV
    without the wake phrase cannot keep the CPU busy; utterances over it are dropped and
    counted."""

    window_s: float = field(default=10.0, metadata=_bounds(5, 30))
    """Shortest encoder window for a spoken command, in seconds. Whisper pads every input
    to 30 s; encoding a window fitted to the utterance (at least this long) is about 3x
    faster. 30 restores Whisper's own behaviour."""

    bias: str = "auto"
    """Bias spoken-command recognition toward the wake phrases (Whisper's previous-text
    prompt, as faster-whisper's ``hotwords``): ``wake`` always, ``auto`` only when a wake
    phrase has a word Whisper's vocabulary does not hold whole ("mycroft", "rhasspy"; not
    "computer"), ``commands`` toward the wake phrases and every command template's words,
    ``none`` never. Measured in docs/ACCURACY.md."""

    hotwords: str = field(default="", metadata={"empty": True})
    """More words to bias recognition toward (names, places), added to ``bias``."""


@dataclass(frozen=True)
class WakeConfig:
    phrases: tuple[str, ...] = ("hey computer", "computer")
    """Wake phrases; the longest matching one wins."""

    threshold: float = field(default=80.0, metadata=_bounds(1, 100))
    """Similarity (0-100) a transcript's opening words need to count as the phrase."""

    phonetic_threshold: float = field(default=0.0, metadata=_bounds(0, 100))
    """Also accept opening words that *sound* like a phrase: similarity (0-100) of their
    Metaphone keys ("hey minecraft" and "hey mycroft" are 91). 0 turns this off."""

    rescore: str = "all"
    """When a transcript opens with words only near a phrase ("okay now move" for "okay
    nabu", "taking Peter" for "hey computer"), or is a command without one ("What is the
    date?"), ask the audio whether the phrase was said (``agent.rescore``): ``all``
    phrases, ``auto`` only for phrases with a word Whisper's vocabulary does not hold whole
    ("nabu", not "computer"), or ``none``. A one-word phrase after "my" or "the" ("my
    computer crashed") wakes the agent only if the audio confirms it, so for a phrase
    not asked about it is taken from the words as before. Measured in docs/ACCURACY.md."""

    max_leading_words: int = field(default=2, metadata=_bounds(0, 10))
    """How many words may come before the wake phrase ("oh, hey computer ...")."""

    follow_up_s: float = field(default=5.0, metadata=_bounds(0, 60))
    """After the wake phrase alone, a command starting within this many seconds needs no
    wake phrase."""


@dataclass(frozen=True)
class PluginsConfig:
    dirs: tuple[str, ...] = (BUNDLED, "~/.config/voiceflow/plugins")
    """Directories whose ``*.py`` files are loaded as plugins (``@bundled`` = shipped ones)."""

    timeout_s: float = field(default=10.0, metadata=_bounds(0.1, 3600))
    """A handler still running after this long is cancelled and reported."""

    settings: dict[str, Any] = field(default_factory=dict)
    """Per-plugin settings, keyed by plugin name, handed to that plugin's handlers."""

    entry_points: bool = True
    """Also load plugins that installed packages declare in the ``voiceflow.plugins``
    entry-point group."""

    match_threshold: float = field(default=80.0, metadata=_bounds(1, 100))
    """Score (0-100) a fuzzy command match needs; an exact template match scores 100."""

    early_dispatch_score: float = field(default=95.0, metadata=_bounds(1, 101))
    """A speculative transcript (see ``vad.speculative_ms``) whose command matches at least
    this well is acted on at once, without waiting out the silence (101 turns this off).
    A template that ends in a slot ("repeat after me {text}") always waits: the slot may go
    on after the pause."""

    rescore: bool = True
    """After the wake phrase, when no command matches the words, ask the model which of the
    closest slot-less commands the audio says (forced decoding; ~150 ms, only then), and
    run it if the audio supports it well (docs/ACCURACY.md)."""

    fallback: str = "sorry"
    """After the wake phrase, a command nothing matches: ``sorry`` says "Sorry, I didn't
    catch that"; ``silent`` only logs it."""

    watch: bool = True
    """Reload plugins when a plugin file changes (checked every 2 s)."""


@dataclass(frozen=True)
class SpeechConfig:
    enabled: bool = False
    """Speak replies and ``ctx.say`` text with espeak-ng (when installed); they are always
    printed and logged."""

    voice: str = "en-us"
    """espeak-ng voice."""

    rate: int = field(default=170, metadata=_bounds(80, 450))
    """Words per minute."""


@dataclass(frozen=True)
class FeedbackConfig:
    tones: bool = False
    """Play a short rising tone when the wake phrase is heard and a falling one on an error
    or an unmatched command. The agent does not listen for the wake phrase while it plays
    a tone or speaks."""

    volume: float = field(default=0.3, metadata=_bounds(0.0, 1.0))
    """Tone volume, 0-1."""


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "info"
    """Log level: debug, info, warning or error (``-v`` on the command line means debug)."""


@dataclass(frozen=True)
class Config:
    """The whole configuration. Every field has a default, so an empty file is valid."""

    audio: AudioConfig = field(default_factory=AudioConfig)
    """Capture."""
    vad: VadConfig = field(default_factory=VadConfig)
    """Voice activity detection and endpointing."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """Speech recognition."""
    wake: WakeConfig = field(default_factory=WakeConfig)
    """Wake phrase."""
    plugins: PluginsConfig = field(default_factory=PluginsConfig)
    """Plugins."""
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    """Spoken output."""
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    """Audible feedback tones."""
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    """Logging."""


_CHOICES: dict[str, tuple[str, ...]] = {
    "audio.denoise": ("auto", "always", "never"),
    "audio.dereverb": ("auto", "always", "never"),
    "model.bias": ("auto", "wake", "commands", "none"),
    "wake.rescore": ("auto", "all", "none"),
    "plugins.fallback": ("sorry", "silent"),
    "logging.level": ("debug", "info", "warning", "error"),
    "model.compute_type": (
        "int8",
        "int8_float32",
        "int8_float16",
        "int8_bfloat16",
        "int16",
        "float16",
        "bfloat16",
        "float32",
        "default",
        "auto",
    ),
}


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "voiceflow" / "config.yaml"


def load_config(path: str | Path | None = None) -> Config:
    """Load ``path``; else ``$XDG_CONFIG_HOME/voiceflow/config.yaml`` if it exists; else defaults.

    A path given explicitly must exist. Raises ``ConfigError``.
    """
    if path is None:
        candidate = default_config_path()
        if not candidate.exists():
            return Config()
        path = candidate
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    return parse_config(text, name)


def parse_config(text: str, name: str = "config.yaml") -> Config:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    return build_config({} if data is None else data, name)


def build_config(data: Any, name: str = "config.yaml") -> Config:
    """A ``Config`` from parsed YAML data; errors name ``name`` and the key path."""
    try:
        config = _build(Config, data, "")
    except _KeyError as exc:
        raise ConfigError(f"{name}: {exc.key}: {exc.reason}") from None
    _check_consistency(config, name)
    return config


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``, section by section (for config overrides)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class _KeyError(Exception):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key or "(top level)"
        self.reason = reason


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise _KeyError(prefix, "must be a mapping of keys to values")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise _KeyError(_join(prefix, str(key)), f"unknown key (known: {', '.join(known)})")
    values: dict[str, Any] = {}
    for key, value in data.items():
        f = known[key]
        keypath = _join(prefix, key)
        hint = hints[key]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            values[key] = _build(hint, value if value is not None else {}, keypath)
        else:
            values[key] = _convert(hint, value, keypath, f.metadata)
    return cls(**values)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _describe_number(kind: str, lo: float | None, hi: float | None) -> str:
    noun = "an integer" if kind == "int" else "a number"
    if lo is not None and hi is None:
        if lo == 1 and kind == "int":
            return "must be a positive integer"
        if lo == 0:
            return (
                f"must be {'a non-negative integer' if kind == 'int' else 'a non-negative number'}"
            )
        return f"must be {noun} of at least {lo:g}"
    if lo is not None and hi is not None:
        if lo == 1 and kind == "int":
            return f"must be a positive integer no greater than {hi:g}"
        return f"must be {noun} from {lo:g} to {hi:g}"
    return f"must be {noun}"


def _convert(hint: Any, value: Any, keypath: str, meta: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if set(non_none) == {int, str}:
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise _KeyError(keypath, "must be a device index, a name, or null")
            if isinstance(value, int) and value < 0:
                raise _KeyError(keypath, "must be a non-negative device index")
            return value
        if len(non_none) == 1:
            return _convert(non_none[0], value, keypath, meta)
    if hint is bool:
        if not isinstance(value, bool):
            raise _KeyError(keypath, "must be true or false")
        return value
    if hint in (int, float):
        lo, hi = meta.get("min"), meta.get("max")
        kind = "int" if hint is int else "float"
        ok_type = isinstance(value, int) if hint is int else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            raise _KeyError(keypath, _describe_number(kind, lo, hi))
        if hint is float and not math.isfinite(value):
            raise _KeyError(keypath, _describe_number(kind, lo, hi))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise _KeyError(keypath, _describe_number(kind, lo, hi))
        return hint(value)
    if hint is str:
        if not isinstance(value, str):
            raise _KeyError(
                keypath, "must be a string" if meta.get("empty") else "must be a non-empty string"
            )
        if not value.strip() and not meta.get("empty"):
            raise _KeyError(keypath, "must be a non-empty string")
        choices = _CHOICES.get(keypath)
        if choices is not None and value not in choices:
            raise _KeyError(keypath, f"must be one of {', '.join(choices)}")
        return value
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise _KeyError(keypath, "must be a list of strings")
        items = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise _KeyError(f"{keypath}[{i}]", "must be a non-empty string")
            items.append(item)
        if not items and keypath == "wake.phrases":
            raise _KeyError(keypath, "must list at least one phrase")
        return tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise _KeyError(keypath, "must be a mapping")
        for k, v in value.items():
            if not isinstance(v, dict) and v is not None:
                raise _KeyError(f"{keypath}.{k}", "must be a mapping of that plugin's settings")
        return {str(k): dict(v or {}) for k, v in value.items()}
    raise _KeyError(keypath, f"unsupported type {hint!r}")  # pragma: no cover


def _check_consistency(config: Config, name: str) -> None:
    """Cross-field checks that a single field's bounds cannot express."""
    if config.vad.neg_threshold > config.vad.threshold:
        raise ConfigError(f"{name}: vad.neg_threshold: must not exceed vad.threshold")
