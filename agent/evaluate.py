"""``voiceflow eval MANIFEST.yaml...``: how well the agent hears, measured on sets of clips.

Every clip is replayed through the real pipeline (fast, in this process, one model load)
and compared with what the manifest says it holds. Reported:

- wake detection rate: clips with a wake phrase that woke the agent;
- false wakes per hour: wakes on clips without one, per hour of such audio;
- command accuracy: the right ``plugin.command`` with the right slots, exactly once;
- right action: the same, with the words of a free-text slot set aside (a reminder's text,
  echo's): the reminder set for the time said, whatever tiny.en made of its words;
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

Several manifests (``voiceflow eval eval/*.yaml``) are each reported as they finish, then
side by side in one table, one row a set (``table``).

``--tag snr10`` keeps only the clips with that tag (repeat it: with all of them);
``--details`` lists every clip with its verdict (``ok``, ``missed wake``, ``wrong command``,
...), its transcripts and the commands it ran; ``--misses`` lists only those that went wrong.

The manifest's format is in ``agent.manifest``; clips it names that are not on disk yet are
made by ``agent.clips`` (synthesized or fetched).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rapidfuzz.distance import Levenshtein

from agent import events
from agent.capture import RATE, read_file
from agent.clips import ensure_clips
from agent.config import Config
from agent.loader import Registry, load_plugins
from agent.manifest import Clip, Manifest, ManifestError, eval_config, load_manifest, with_tags
from agent.text import words
from agent.timeofday import TimeOfDay
from agent.wake import WakeMatcher

SPELLING_SWEEP = (90.0, 80.0, 70.0)
PHONETIC_SWEEP = (0.0, 95.0, 90.0, 85.0, 80.0)


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
    dereverbed: int = 0
    """Readings of audio whose room's echo was taken out (``audio.dereverb``)."""
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
    free: frozenset[str] = frozenset()
    """The expected command's free-text slots (``free_slots``), which ``action_ok`` sets
    aside."""

    @property
    def command_ok(self) -> bool:
        return self._ran(frozenset())

    @property
    def action_ok(self) -> bool:
        """The expected command ran exactly once with its slots right but for ``free``: a
        reminder set for the time said, its text as misheard."""
        return self._ran(self.free)

    def _ran(self, aside: frozenset[str]) -> bool:
        if len(self.commands) != 1:
            return False
        name, slots = self.commands[0]
        return name == self.clip.command and all(
            _same(slots.get(k), v) for k, v in self.clip.slots.items() if k not in aside
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
    if isinstance(want, str) and isinstance(got, str | TimeOfDay):
        return words(str(got)) == words(want)  # a time as written: "17:00", "5:30 am or pm"
    return bool(got == want)


FREE_TEXT = "text"
"""The name the bundled plugins give a slot whose words a command passes on as said (a
reminder's, a notification's, echo's): ``free_slots``."""


def free_slots(registry: Registry, command: str | None) -> frozenset[str]:
    """The slots of ``command`` ("notify.remind_at") that pass words on: named
    ``FREE_TEXT``, taking any words, their values not known to the plugin
    (``command(known=...)``). Not a slot that picks what to act on: a timer's name, "cancel
    my {what} reminder", "cancel the reminder to {text}" (whose texts the plugin knows)."""
    for cmd in registry.commands:
        if f"{cmd.plugin}.{cmd.name}" == command:
            known = {slot for slot, _ in cmd.known}
            kinds = {name: kind for t in cmd.templates for name, kind in t.slots.items()}
            if kinds.get(FREE_TEXT) == "str" and FREE_TEXT not in known:
                return frozenset({FREE_TEXT})
            return frozenset()
    return frozenset()


def run_clip(clip: Clip, config: Config, transcriber: Any, registry: Registry) -> ClipResult:
    from agent.bench import run_pipeline  # the same in-process runner the benchmark uses

    audio = read_file(clip.path)
    r = run_pipeline(config, audio, transcriber, registry, fast=True, before=clip.before)
    return ClipResult(
        clip=clip,
        seconds=audio.shape[0] / RATE,
        transcripts=[t.text for t in r.of(events.Transcript)],
        woke=[w.phrase for w in r.of(events.Wake)],
        commands=[(f"{c.plugin}.{c.command}", dict(c.slots)) for c in r.of(events.Command)],
        latencies_ms=[c.latency_ms for c in r.of(events.Command)],
        snr_db=[u.snr_db for u in r.of(events.Utterance)],
        denoised=sum(u.denoised for u in r.of(events.Utterance)),
        dereverbed=sum(t.dereverbed for t in r.of(events.Transcript)),
        checks=[round(c.loss - c.allowed, 2) for c in r.of(events.WakeChecked)],
        rescued=[
            (x.heard, x.text, round(x.heard_logprob - x.logprob, 2), x.heard_logprob)
            for x in r.of(events.Rescored)
        ],
        rejected=[x.reason for x in r.of(events.Rejected)],
        free=free_slots(registry, clip.command),
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
        "action_correct": sum(1 for r in cmd if r.action_ok),
        "action_accuracy": _ratio(sum(1 for r in cmd if r.action_ok), len(cmd)),
        "request_clips": len(requests),
        "false_commands": sum(1 for r in requests if r.commands),
        "denoised_clips": sum(1 for r in results if r.denoised),
        "dereverbed_clips": sum(1 for r in results if r.dereverbed),
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
    manifest_paths: Sequence[str],
    config_path: str | None,
    as_json: bool,
    details: str | None = None,
    tags: Sequence[str] = (),
) -> int:
    """Replay each manifest's clips (those with every one of ``tags``) and print its report
    as it is done; ``details`` adds clips one by one with their verdicts: ``all`` of them, or
    only the ``misses`` (those that went wrong). Every manifest is read and checked before
    the first clip runs, and the model is loaded once for all that share its settings. With
    several, a table of them all follows (``table``); ``--json`` prints one report, or a
    list of them."""
    from agent.transcribe import Transcriber

    try:
        base: dict[str, Any] = {}
        if config_path is not None:
            base = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
        sets = []
        for path in manifest_paths:
            manifest = with_tags(load_manifest(path), tags)
            sets.append((manifest, eval_config(manifest, base)))
    except (ManifestError, OSError, yaml.YAMLError) as exc:
        print(f"voiceflow eval: {exc}", flush=True)
        return 2
    reports = []
    transcriber: Transcriber | None = None
    try:
        for manifest, config in sets:
            try:  # on stderr: the report is on stdout
                ensure_clips(manifest, lambda m: print(f"voiceflow eval: {m}", file=sys.stderr))
            except (ManifestError, OSError) as exc:
                print(f"voiceflow eval: {exc}", flush=True)
                return 2
            p = config.plugins
            registry = load_plugins(p.dirs, p.settings, p.entry_points)
            unmatched = _unmatched_before(manifest, registry, p.match_threshold)
            if unmatched:
                print(f"voiceflow eval: {unmatched}", flush=True)
                return 2
            if transcriber is None or transcriber.cfg != config.model:
                if transcriber is not None:
                    transcriber.close()
                transcriber = Transcriber(config.model)
            results = []
            for clip in manifest.clips:
                try:
                    results.append(run_clip(clip, config, transcriber, registry))
                except Exception as exc:  # an unreadable clip is named, and the run stops
                    print(f"voiceflow eval: {clip.path}: {exc}", flush=True)
                    return 1
            reports.append(report_of(manifest, config, results, tags, details))
            if not as_json:
                print(human(reports[-1]), flush=True)
    finally:
        if transcriber is not None:
            transcriber.close()
    if as_json:
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2, default=str))
    elif len(reports) > 1:
        print(table(reports))
    return 0


def _unmatched_before(manifest: Manifest, registry: Registry, threshold: float) -> str | None:
    """The first clip's ``before`` command that no plugin's command matches, named."""
    from agent.bench import before_match  # the check run_pipeline makes, made up front

    for clip in manifest.clips:
        for text in clip.before:
            if before_match(registry, text, threshold) is None:
                return f"{manifest.path}: {clip.path.name}: before: {text!r} matches no command"
    return None


def report_of(
    manifest: Manifest,
    config: Config,
    results: Sequence[ClipResult],
    tags: Sequence[str],
    details: str | None,
) -> dict[str, Any]:
    """One manifest's report: the scores (``summarize``), what it was measured with, and
    with ``details`` the clips one by one."""
    from agent.transcribe import arithmetic

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
                "dereverbed": r.dereverbed,
                "wake_checks": r.checks,
                "rescored": r.rescued,
                "rejected": r.rejected,
            }
            for r in results
            if details == "all" or r.verdict != "ok"
        ]
    return report


def table(reports: Sequence[dict[str, Any]]) -> str:
    """The reports side by side, one row each, as a Markdown table (docs/ACCURACY.md's
    "Where it stands" has this shape): wakes, commands, requests run as a command, and false
    wakes with the minutes of audio without a phrase. Empty where a set has none."""

    def of(n: int, d: int, pct: float | None = None) -> str:
        if not d:
            return ""
        return f"{n}/{d}" + ("" if pct is None else f" ({100 * pct:.1f} %)")

    lines = [
        "| set | wakes | commands | requests run as a command | false wakes (minutes) |",
        "|---|---|---|---|---|",
    ]
    for r in reports:
        minutes = r["non_wake_minutes"]
        false_wakes = f"{r['false_wakes']} ({minutes:g})" if minutes else ""
        lines.append(
            f"| {Path(r['manifest']).name} "
            f"| {of(r['wake_detected'], r['wake_clips'])} "
            f"| {of(r['command_correct'], r['command_clips'], r['command_accuracy'])} "
            f"| {of(r['false_commands'], r['request_clips'])} "
            f"| {false_wakes} |"
        )
    return "\n".join(lines)


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
        f"  right action       {pct(report['action_accuracy'])} "
        f"({report['action_correct']}/{report['command_clips']}; free text aside)",
        f"  false commands     {report['false_commands']} of {report['request_clips']} "
        "requests no command serves",
        f"  noise taken out    in {report['denoised_clips']} clips",
        f"  echo taken out     in {report['dereverbed_clips']} clips",
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
