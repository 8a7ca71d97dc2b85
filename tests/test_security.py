"""Security: what the agent runs, loads and writes. Through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Fixtures, run_agent, run_cli, voiceflow_cmd


@pytest.mark.parametrize(
    "payload",
    ["; touch {x}", "$(touch {x})", "`touch {x}`", "&& touch {x}", "| touch {x}"],
)
def test_spoken_slot_reaches_the_program_as_one_inert_argument(
    tmp_path: Path, isolated_env: dict, payload: str
) -> None:
    """The shell plugin, driven through ``voiceflow try --run`` (matching, slots, dispatch
    as for speech): a slot full of shell syntax is one argument to printf, never run.
    (Transcripts are normalised to words before matching, so the syntax is already gone
    here; tests/test_plugins.py hands the raw payloads to the handler directly.)"""
    victim = tmp_path / "pwned"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "plugins:\n  dirs: ['@bundled']\n  settings:\n    shell:\n      commands:\n"
        "        'print {text}': ['printf', '%s', '{text}']\n"
    )
    text = "print " + payload.format(x=victim)
    proc = run_cli("--config", str(cfg), "try", "--run", "--json", text, env=isolated_env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["match"]["plugin"] == "shell"
    assert out["reply"] == out["match"]["slots"]["text"]  # printf printed it back, as text
    assert not victim.exists()


def test_plugins_load_only_from_configured_places(tmp_path: Path, isolated_env: dict) -> None:
    """A plugin file in the working directory, or in a directory the config does not list,
    is never imported."""
    marker = tmp_path / "imported"
    evil = f"open({str(marker)!r}, 'w').write('x')\nfrom agent.plugin import command\n"
    (tmp_path / "evil.py").write_text(evil)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "evil2.py").write_text(evil)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("plugins:\n  dirs: ['@bundled']\n")
    proc = subprocess.run(
        voiceflow_cmd("--config", str(cfg), "plugins", "--json"),
        capture_output=True,
        text=True,
        env=isolated_env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert "evil" not in proc.stdout


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_a_run_writes_no_audio_transcript_or_state_anywhere(
    fixtures: Fixtures, tmp_path: Path
) -> None:
    """With every XDG directory, HOME and TMPDIR pointed at empty directories, a run that
    transcribes and dispatches a command leaves all of them empty: no audio, transcript,
    state file or socket is written (there is no option to turn recording on)."""
    home = tmp_path / "home"
    dirs = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local/share",
        "XDG_STATE_HOME": home / ".local/state",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_RUNTIME_DIR": tmp_path / "run",
        "TMPDIR": tmp_path / "tmp",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    os.chmod(dirs["XDG_RUNTIME_DIR"], 0o700)
    env = dict(os.environ, **{k: str(v) for k, v in dirs.items()})
    env.pop("PULSE_SERVER", None)
    code, evs, err = run_agent(
        "run", "--input", str(fixtures.path("time.wav")), "--fast", "--json", env=env
    )
    assert code == 0, err
    assert [e["command"] for e in evs if e["event"] == "command"] == ["time_now"]
    assert _files(tmp_path) == set()


def test_config_file_is_never_rewritten(
    fixtures: Fixtures, tmp_path: Path, isolated_env: dict
) -> None:
    cfg = tmp_path / "c.yaml"
    text = "# mine\nvad:\n  min_silence_ms: 500   # keep\n"
    cfg.write_text(text)
    os.chmod(cfg, 0o444)
    before = cfg.stat()
    code, _evs, err = run_agent(
        "--config",
        str(cfg),
        "run",
        "--input",
        str(fixtures.path("time.wav")),
        "--fast",
        "--json",
        env=isolated_env,
    )
    assert code == 0, err
    after = cfg.stat()
    assert cfg.read_text() == text
    assert (after.st_mtime_ns, after.st_ino, after.st_mode) == (
        before.st_mtime_ns,
        before.st_ino,
        before.st_mode,
    )
