"""Recordings of real voices for ``voiceflow eval``, taken from packages: the Python
package index's source archives, or Debian's binary packages.

Speech projects ship recordings of people in their source archives: pyannote.audio a phone
call and meetings, silero-vad a lecture and a news broadcast. A manifest clip with ::

    fetch: {package: silero-vad, version: 6.2.3, member: silero_vad-6.2.3/tests/data/test.wav,
            sha256: 89f17d9c...}

is cut out of that package's source archive the first time it is needed and kept beside
the synthesized clips (eval/clips/, gitignored), so that no recording is committed and each
is exactly the file it was measured on. Only ``voiceflow eval`` goes online for this; the
agent never does. A recipe with ``index: debian`` names a binary package of the machine's
own apt sources instead (``apt-get download``, which checks it against the signed archive):
Debian ships a real voice reading hundreds of telephone prompts, with their texts.

A machine that reaches the Python package index through a mirror names it as pip's own
``PIP_INDEX_URL`` (a user name and password in it are given to the mirror's host when it
asks, and never printed); the mirror may answer in PEP 691 JSON or PEP 503 HTML.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

INDEX = "https://pypi.org/simple/"
"""The package index when ``PIP_INDEX_URL`` names none, read through its simple API as pip
reads it (PEP 691 JSON, or PEP 503 HTML from a mirror that has no JSON)."""
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)
"""What an index page is asked for: JSON first, as pip asks."""
TIMEOUT_S = 120.0
"""How long one request to the index may take."""


class FetchError(Exception):
    """A recording that cannot be had: the message says which and why."""


INDEXES = ("pypi", "debian")
"""Where a recipe's package may come from: a source archive on the Python package index,
or a binary package from the machine's apt sources."""


@dataclass(frozen=True)
class Fetch:
    """Where a clip not on disk yet comes from: a file in a package's archive."""

    package: str
    """The package's name ("pyannote.audio"; "asterisk-core-sounds-en-wav" on Debian)."""
    version: str
    """The release whose archive holds the file ("4.0.7"; Debian's "1.6.1-1")."""
    member: str
    """The file's path inside that archive ("pyannote_audio-4.0.7/tests/data/dev00.wav";
    in a Debian package, where it installs: "usr/share/asterisk/sounds/...")."""
    sha256: str
    """The file's SHA-256: any other file is an error, never a clip."""
    index: str = "pypi"
    """``pypi``: the source archive of that release on the Python package index;
    ``debian``: that version of the binary package, by ``apt-get download``."""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def source_file(files: Iterable[dict[str, Any]], package: str, version: str) -> dict[str, Any]:
    """The source archive of ``package`` ``version`` among an index page's ``files``."""
    for f in files:
        name = f["filename"]
        stem = name.removesuffix(".tar.gz").removesuffix(".zip")
        if stem == name or "-" not in stem:
            continue
        project, release = stem.rsplit("-", 1)
        if _canonical(project) == _canonical(package) and release == version:
            return f
    raise FetchError(f"{package} {version}: the index has no source archive of it")


def index_url(environ: Mapping[str, str] = os.environ) -> str:
    """The index to fetch from: pip's ``PIP_INDEX_URL`` where it is set, else PyPI."""
    url = environ.get("PIP_INDEX_URL", "").strip()
    return url.rstrip("/") + "/" if url else INDEX


class _Anchors(HTMLParser):
    """The files of a PEP 503 page: each anchor's text is a file name, its href the file's
    address, with ``#sha256=...`` where the index gives a hash."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[dict[str, Any]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag != "a" or self._href is None:
            return
        url, fragment = urldefrag(self._href)
        algorithm, _, digest = fragment.partition("=")
        hashes = {algorithm: digest} if digest else {}
        self.files.append({"filename": "".join(self._text).strip(), "url": url, "hashes": hashes})
        self._href = None


def index_files(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """The files an index page lists, as PEP 691 names them (filename, url, hashes), from
    a JSON page or an HTML one."""
    if content_type.endswith("json"):
        return list(json.loads(body).get("files", []))
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    return parser.files


def shown(url: str) -> str:
    """``url`` as it may be printed: without a user name or password."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _opener(index: str) -> urllib.request.OpenerDirector:
    """What reads the index: with the user name and password ``index`` carries, given to
    its host (the index and its files there) when the host asks for them."""
    parts = urlsplit(index)
    if parts.username is None:
        return urllib.request.build_opener()
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    host = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/"
    passwords.add_password(None, host, unquote(parts.username), unquote(parts.password or ""))
    return urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords))


def _get(
    opener: urllib.request.OpenerDirector, url: str, accept: str | None = None
) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with opener.open(request, timeout=TIMEOUT_S) as response:
        return response.read(), response.headers.get_content_type()


def source_archive(package: str, version: str, index: str = INDEX) -> bytes:
    """The source archive of ``package`` ``version``, checked against the index's hash."""
    opener = _opener(index)
    page = urljoin(shown(index), f"{_canonical(package)}/")
    try:
        f = source_file(index_files(*_get(opener, page, ACCEPT)), package, version)
        data, _ = _get(opener, urljoin(page, f["url"]))
    except (OSError, ValueError) as exc:
        raise FetchError(f"{package} {version}: cannot fetch from {page}: {exc}") from None
    want = f.get("hashes", {}).get("sha256")
    if want and hashlib.sha256(data).hexdigest() != want:
        raise FetchError(f"{package} {version}: {f['filename']} does not match its hash")
    return data


def debian_files(package: str, version: str) -> bytes:
    """The files of Debian package ``package`` ``version`` as one tar archive: the package
    comes from the machine's apt sources (``apt-get download``: signed and checked by apt)."""
    apt, dpkg = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if apt is None or dpkg is None:
        raise FetchError(f"{package} {version}: a Debian package needs apt-get and dpkg-deb")
    with tempfile.TemporaryDirectory() as where:
        try:
            got = subprocess.run(
                [apt, "download", "-q", f"{package}={version}"],
                cwd=where,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S * 5,
            )
        except subprocess.TimeoutExpired:
            raise FetchError(
                f"{package} {version}: apt-get download took over {TIMEOUT_S * 5:.0f} s"
            ) from None
        debs = list(Path(where).glob("*.deb"))
        if got.returncode != 0 or len(debs) != 1:
            said = (got.stderr.strip().splitlines() or ["no package file"])[-1]
            if "Unable to locate" in said:
                said += " (apt-get update reads the sources' lists first)"
            raise FetchError(f"{package} {version}: apt-get download: {said}")
        files = subprocess.run([dpkg, "--fsys-tarfile", str(debs[0])], capture_output=True)
        if files.returncode != 0:
            raise FetchError(f"{package} {version}: {debs[0].name} cannot be read")
        return files.stdout


def members(archive: bytes, names: Sequence[str]) -> list[bytes]:
    """The files ``names`` of a .tar.gz, .tar or .zip archive, opened once for them all
    (``./name`` as well, as a Debian package writes its paths)."""
    name = ""
    found = []
    try:
        if archive[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(archive)) as z:
                for name in names:
                    found.append(z.read(name))
            return found
        if archive[:2] == b"\x1f\x8b":  # unzipped once, not once a file
            archive = gzip.decompress(archive)
        with tarfile.open(fileobj=io.BytesIO(archive)) as t:
            held = {info.name: info for info in t.getmembers()}
            for name in names:
                info = held.get(name) or held.get(f"./{name}")
                f = t.extractfile(info) if info is not None else None
                if f is None:
                    raise KeyError(name)
                found.append(f.read())
            return found
    except KeyError:
        raise FetchError(f"the archive has no file {name}") from None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise FetchError(f"the archive cannot be read: {exc}") from None


def member(archive: bytes, name: str) -> bytes:
    """The file ``name`` of an archive (``members``)."""
    return members(archive, [name])[0]


def fetch_all(wanted: Iterable[tuple[Fetch, Path]], index: str | None = None) -> int:
    """Write each recording to its path, fetching each archive once from ``index``
    (``index_url()`` where not given) and opening it once; returns how many."""
    index = index or index_url()
    by_archive: dict[tuple[str, str, str], list[tuple[Fetch, Path]]] = {}
    for recipe, path in wanted:
        key = (recipe.index, recipe.package, recipe.version)
        by_archive.setdefault(key, []).append((recipe, path))
    made = 0
    for (where, package, version), group in by_archive.items():
        if where == "debian":
            archive = debian_files(package, version)
        else:
            archive = source_archive(package, version, index)
        try:
            found = members(archive, [recipe.member for recipe, _ in group])
        except FetchError as exc:
            raise FetchError(f"{package} {version}: {exc}") from None
        for (recipe, path), data in zip(group, found, strict=True):
            if hashlib.sha256(data).hexdigest() != recipe.sha256:
                raise FetchError(
                    f"{package} {version}: {recipe.member} is not the "
                    "file the manifest names (its sha256 differs)"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            made += 1
    return made
