"""The benchmark runs in a tiny mode so it cannot rot. No timing is asserted here."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_bench_tiny_runs_and_reports_every_figure(isolated_env: dict) -> None:
    proc = run_cli("bench", "--tiny", "--json", env=isolated_env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    figures = [r["figure"] for r in report["rows"]]
    for expected in (
        "end of speech -> handler start, p50",
        "end of speech -> handler start, p95",
        "CPU listening to silence",
        "CPU listening to steady noise",
        "CPU listening to talk without the wake phrase",
        "file transcription",
        "audio callback, 16 kHz mono",
        "audio callback, 48 kHz stereo",
        "dropped blocks while the model is busy",
        "resident memory of `voiceflow run`",
        "memory growth over",
        "cold start to READY",
        "text cleaning",
        "audio validation per 512-sample block",
    ):
        assert any(f.startswith(expected) for f in figures), expected
    latency = report["rows"][0]
    assert latency["ours"].endswith(" ms") and latency["naive"].endswith(" ms")
    assert "2/2 commands ran" in latency["note"]  # the pipeline really dispatched them
    busy = next(r for r in report["rows"] if r["figure"].startswith("dropped blocks"))
    assert busy["ours"].startswith("0 of ")  # nothing dropped while the model worked
    assert report["meta"]["tiny"] is True
