"""``voiceflow record PROMPTS.yaml OUT``: your own voice, as a manifest ``voiceflow eval`` reads.

The sets in eval/ say how the agent hears espeak-ng and flite; only recordings say how it
hears a person, their microphone and their room. For each prompt (every distinct thing said
in PROMPTS by a clip with a wake phrase: with eval/manifest.yaml, the bundled commands and
the requests no command serves) this shows the words, records ``--seconds`` from the
microphone and writes the clip into OUT/clips/, and the clip with the prompt's expected
wake phrase, command, slots and text into OUT/manifest.yaml, at once, so stopping half-way
keeps what was recorded. An OUT/manifest.yaml that exists is added to, so several people
(``--tag alice``) can fill one set. Then ``voiceflow eval OUT/manifest.yaml``.

At a terminal each prompt waits for Enter, and a take that heard nothing (a muted
microphone) is asked for again; otherwise (a script, a test) it records at once and keeps
what it got.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agent.capture import RATE, AudioSource, MicrophoneSource, write_wav
from agent.config import Config
from agent.manifest import Clip, Manifest, ManifestError, load_manifest

QUIET = 1e-3
"""A recording whose loudest sample stays below this (-60 dBFS) heard nothing: said so, and
at a terminal recorded again."""
MAX_SECONDS = 30.0
"""The longest recording per prompt: Whisper reads at most 30 s at once."""
SLUG_CHARS = 40
"""A clip's file name holds at most this many characters of its words."""


def prompts(manifest: Manifest) -> list[Clip]:
    """The clips of ``manifest`` to say, one per distinct text: those with a wake phrase
    (talk without one is no prompt), first of each, in order."""
    seen: dict[str, Clip] = {}
    for clip in manifest.clips:
        said = _said(clip)
        if clip.wake is not None and said and said not in seen:
            seen[said] = clip
    return list(seen.values())


def _said(clip: Clip) -> str:
    return clip.say.text if clip.say is not None else (clip.text or "")


async def record(
    source: AudioSource, seconds: float, started: Callable[[], object] | None = None
) -> np.ndarray:
    """``seconds`` of audio from ``source`` (16 kHz mono float32); less if it ends first.
    ``started`` is called when the first block has come: the microphone is open."""
    need = int(seconds * RATE)
    out = np.empty(need, np.float32)
    n = 0
    blocks = source.blocks()
    try:
        async for block, _ in blocks:
            if n == 0 and started is not None:
                started()
            take = min(block.shape[0], need - n)
            out[n : n + take] = block[:take]
            n += take
            if n >= need:
                break
    finally:
        await blocks.aclose()
    return out[:n]


def slug(text: str) -> str:
    """File-name words of ``text``: "hey computer, what time is it" -> "hey-computer-what-..."."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:SLUG_CHARS].strip("-") or "clip"


def start(out: Path, source: Manifest) -> dict[str, Any]:
    """OUT/manifest.yaml as data: the one there (checked first), or a new one with the
    prompts' wake phrases and config overrides."""
    path = out / "manifest.yaml"
    if path.exists():
        load_manifest(path)  # a broken one is said now, not after the recording
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    data: dict[str, Any] = {}
    if source.wake_phrases is not None:
        data["wake_phrases"] = list(source.wake_phrases)
    if source.config:
        data["config"] = source.config
    data["clips"] = []
    return data


def entry(prompt: Clip, path: str, tags: Sequence[str]) -> dict[str, Any]:
    """The manifest entry for a recording of ``prompt`` at ``path`` (relative to OUT)."""
    return {
        "path": path,
        "wake": prompt.wake,
        "command": prompt.command,
        "slots": dict(prompt.slots),
        "text": prompt.text if prompt.text is not None else _said(prompt),
        "tags": ["recorded", *tags],
    }


def _free_name(out: Path, n: int, said: str) -> str:
    """``clips/NNN-words.wav`` numbered on from ``n``, never a file that is there already."""
    while (out / (name := f"clips/{n:03d}-{slug(said)}.wav")).exists():
        n += 1
    return name


async def session(
    prompt_list: Sequence[Clip],
    out: Path,
    data: dict[str, Any],
    open_source: Callable[[], AudioSource],
    seconds: float,
    tags: Sequence[str],
    wait: Callable[[], object] | None,
) -> int:
    """Record every prompt into ``out``, rewriting OUT/manifest.yaml after each (``data``,
    whose ``clips`` grow); returns how many were recorded."""
    clips: list[dict[str, Any]] = data["clips"]
    (out / "clips").mkdir(parents=True, exist_ok=True)
    for i, prompt in enumerate(prompt_list, 1):
        said = _said(prompt)
        print(f"[{i}/{len(prompt_list)}] Say: {said}", flush=True)
        while True:
            if wait is not None:
                wait()
            audio = await record(
                open_source(), seconds, lambda: print(f"  recording {seconds:g} s ...", flush=True)
            )
            if audio.shape[0] > 0 and float(np.max(np.abs(audio))) >= QUIET:
                break
            again = "Once more:" if wait is not None else "(kept; eval will show it)"
            print(f"  nothing was heard: is the microphone muted? {again}", flush=True)
            if wait is None:
                break
        name = _free_name(out, len(clips), said)
        write_wav(out / name, audio)
        clips.append(entry(prompt, name, tags))
        (out / "manifest.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        print(f"  saved {out / name}", flush=True)
    return len(prompt_list)


def run(
    prompts_path: str, out_dir: str, config: Config, seconds: float, tags: Sequence[str]
) -> int:
    """``voiceflow record``: 0 when the recording ends (every prompt said, or stopped with
    Ctrl-C: what was recorded is kept), 2 for a manifest that cannot be used (as ``voiceflow
    eval``)."""
    out = Path(out_dir)
    if not 0 < seconds <= MAX_SECONDS:
        print(
            f"voiceflow record: --seconds: must be above 0 and at most {MAX_SECONDS:g}",
            file=sys.stderr,
        )
        return 2
    try:
        source = load_manifest(prompts_path)
        todo = prompts(source)
        if not todo:
            raise ManifestError(f"{prompts_path}: no clip with a wake phrase to say")
        data = start(out, source)
    except ManifestError as exc:
        print(f"voiceflow record: {exc}", file=sys.stderr)
        return 2
    a = config.audio

    def microphone() -> AudioSource:
        return MicrophoneSource(a.device, block_ms=a.block_ms, queue_s=a.queue_s)

    microphone()  # no microphone is said before the first prompt (AudioError)
    wait = (lambda: input("  press Enter, then speak ")) if sys.stdin.isatty() else None
    before = len(data["clips"])
    try:
        asyncio.run(session(todo, out, data, microphone, seconds, tags, wait))
    except (KeyboardInterrupt, EOFError):
        print("\nstopped")
    done = len(data["clips"]) - before
    print(f"{done} clips in {out / 'manifest.yaml'}; measure: voiceflow eval {out}/manifest.yaml")
    return 0
