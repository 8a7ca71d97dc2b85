"""Audio sources behind one protocol: microphone, file, raw PCM on stdin.

Every source yields ``(samples, captured_at)`` pairs: 16 kHz mono float32 samples (a view
valid until the next item is requested, so the consumer copies what it keeps) and the
``time.monotonic()`` at which the block was captured (for a file: when it was read).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import sys
import threading
import time
import wave
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

import numpy as np

from agent.buffer import BlockQueue

RATE = 16000
"""The pipeline's sample rate."""


class AudioError(Exception):
    """An audio source cannot be opened or read; the message says why, in one line."""


@runtime_checkable
class AudioSource(Protocol):
    """What the pipeline needs from a source of audio."""

    @property
    def name(self) -> str:
        """Human-readable description for logs."""
        ...

    live: bool
    """True when audio arrives in real time and cannot wait (then overload drops audio);
    False when the consumer sets the pace (a file read with ``--fast``)."""

    @property
    def dropped(self) -> int:
        """Blocks dropped under the drop-oldest policy so far."""
        ...

    def blocks(self) -> AsyncGenerator[tuple[np.ndarray, float], None]:
        """16 kHz mono float32 blocks with their capture time, until the source ends (an
        async generator: closing it stops the capture)."""
        ...


# --------------------------------------------------------------------------- resampling
class Resampler:
    """Streaming float32 mono resampler to 16 kHz (FFmpeg's swresample through PyAV)."""

    def __init__(self, rate: int) -> None:
        import av

        self.rate = rate
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        self._av = av
        self._pts = 0

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        frame = self._av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1),
            format="flt",
            layout="mono",
        )
        frame.sample_rate = self.rate
        frame.pts = self._pts
        self._pts += samples.shape[0]
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        if not out:
            return np.zeros(0, dtype=np.float32)
        return out[0] if len(out) == 1 else np.concatenate(out)


# --------------------------------------------------------------------------- files
def decode_file(path: str | Path, block: int = 4096) -> Iterator[np.ndarray]:
    """Decode any file PyAV reads to 16 kHz mono float32, ``block`` samples at a time.

    Raises ``AudioError`` naming the file when it is missing, empty, not audio or corrupt.
    """
    import av

    name = str(path)
    if not os.path.exists(name):
        raise AudioError(f"{name}: no such file")
    if os.path.isdir(name):
        raise AudioError(f"{name}: is a directory, not an audio file")
    if os.path.getsize(name) == 0:
        raise AudioError(f"{name}: empty file (0 bytes)")
    try:
        container = av.open(name, metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise AudioError(f"{name}: cannot read audio: {_av_reason(exc)}") from None
    with container:
        if not container.streams.audio:
            raise AudioError(f"{name}: cannot read audio: the file has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        parts: list[np.ndarray] = []  # decoded, not yet yielded: joined once per block
        have = 0
        produced = 0
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        parts.append(out.to_ndarray().reshape(-1))
                        have += parts[-1].shape[0]
                    if have >= block:
                        joined = np.concatenate(parts)
                        whole = have - have % block
                        for start in range(0, whole, block):
                            yield joined[start : start + block]
                        produced += whole
                        parts, have = [joined[whole:]], have - whole
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
                have += parts[-1].shape[0]
        except (av.FFmpegError, ValueError) as exc:
            raise AudioError(f"{name}: cannot read audio: {_av_reason(exc)}") from None
        if produced == 0 and have == 0:
            raise AudioError(f"{name}: cannot read audio: no samples decoded")
        if have:
            yield np.concatenate(parts)


def read_file(path: str | Path) -> np.ndarray:
    """The whole of an audio file as one 16 kHz mono float32 array (``decode_file``'s
    errors)."""
    chunks = list(decode_file(path, block=RATE * 60))
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def write_wav(path: str | Path, samples: np.ndarray) -> Path:
    """16 kHz mono float32 ``samples`` as a 16-bit WAV file (clipped to [-1, 1])."""
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _av_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '")[0].strip() or type(exc).__name__


class ChunkSource:
    """Audio from an iterator of 16 kHz mono chunks, paced at real time unless ``fast``."""

    def __init__(self, chunks: Iterator[np.ndarray], name: str, *, fast: bool = False) -> None:
        self.name = name
        self.fast = fast
        self.live = not fast
        self._chunks = chunks

    @property
    def dropped(self) -> int:
        return 0

    async def blocks(self) -> AsyncGenerator[tuple[np.ndarray, float], None]:
        start = time.monotonic()
        position = 0
        for samples in self._chunks:
            if self.fast:
                # Yield to the loop now and then so other tasks run.
                if position % (RATE * 2) < samples.shape[0]:
                    await asyncio.sleep(0)
            else:
                delay = start + position / RATE - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            yield samples, time.monotonic()
            position += samples.shape[0]


class FileSource(ChunkSource):
    """Audio from a file (any format PyAV decodes)."""

    def __init__(self, path: str | Path, *, fast: bool = False, block: int = 512) -> None:
        self.path = str(path)
        frames = decode_file(self.path, block=block)
        # Decode the first block now, so that an unreadable file fails before anything starts.
        first = next(frames)
        super().__init__(itertools.chain([first], frames), f"file {self.path}", fast=fast)


class ArraySource(ChunkSource):
    """Audio from an array already in memory (16 kHz mono float32)."""

    def __init__(self, samples: np.ndarray, *, fast: bool = False, block: int = 512) -> None:
        chunks = (samples[i : i + block] for i in range(0, samples.shape[0], block))
        super().__init__(chunks, f"array ({samples.shape[0] / RATE:.1f} s)", fast=fast)


# --------------------------------------------------------------------------- live hand-off
async def drain_queue(
    queue: BlockQueue,
    resample: Resampler | None,
    finished: Callable[[], bool],
) -> AsyncIterator[tuple[np.ndarray, float]]:
    """Yield blocks from a ``BlockQueue`` filled by another thread, sleeping in between.

    Ends when ``finished()`` is true and the queue is empty.
    """
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def notify() -> None:  # from the audio thread
        loop.call_soon_threadsafe(wake.set)

    queue.notify = notify
    while True:
        queue.arm()
        wake.clear()
        while (slot := queue.pop()) is not None:
            samples, captured = queue.view(slot)
            try:
                yield (resample(samples) if resample else samples), captured
            finally:
                queue.release(slot)
        if finished():
            return
        # Also look once a second: a stream that died sends no more wake-ups. Not
        # asyncio.wait_for: before Python 3.12 it swallows a cancellation that arrives as
        # the wait ends, and with a block every 32 ms that happened, and SIGTERM was lost.
        timer = loop.call_later(1.0, wake.set)
        try:
            await wake.wait()
        finally:
            timer.cancel()


# --------------------------------------------------------------------------- stdin
class StdinSource:
    """Raw signed 16-bit little-endian mono PCM at 16 kHz on stdin (``parec``/``arecord``).

    A daemon thread reads stdin (a blocking read that must not hold up shutdown) and hands
    blocks over through a ``BlockQueue``, under the same drop policy as the microphone.
    """

    def __init__(
        self, stream: BinaryIO | None = None, block: int = 512, queue_s: float = 10.0
    ) -> None:
        self.name = "stdin (s16le, 16 kHz, mono)"
        self.live = True
        self._stream = stream if stream is not None else sys.stdin.buffer
        self._block = block
        self.queue = BlockQueue(max(2, math.ceil(queue_s * RATE / block)), block)
        self._eof = False

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def _read(self) -> None:
        scratch = np.zeros((self._block, 1), dtype=np.float32)
        carry = b""
        # os.read on the descriptor, not the buffered file: a daemon thread blocked inside
        # BufferedReader.read holds its lock, and interpreter shutdown then aborts.
        try:
            fd = self._stream.fileno()
            read: Callable[[int], bytes] = lambda n: os.read(fd, n)  # noqa: E731
        except (AttributeError, OSError, ValueError):
            read = self._stream.read
        try:
            while True:
                data = read(self._block * 2)
                if not data:
                    break
                data = carry + data
                usable = len(data) - len(data) % 2
                carry = data[usable:]
                pcm = np.frombuffer(data[:usable], dtype="<i2")
                n = pcm.shape[0]
                np.multiply(pcm, 1.0 / 32768.0, out=scratch[:n, 0], casting="unsafe")
                self.queue.put(scratch[:n])
        except (OSError, ValueError):
            pass
        finally:
            self._eof = True
            notify = self.queue.notify
            if notify is not None:
                notify()

    async def blocks(self) -> AsyncGenerator[tuple[np.ndarray, float], None]:
        drained = drain_queue(self.queue, None, lambda: self._eof)
        threading.Thread(target=self._read, name="stdin-reader", daemon=True).start()
        async for item in drained:
            yield item


# --------------------------------------------------------------------------- microphone
def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio missing
        raise AudioError(
            "PortAudio is not installed, so no microphone can be opened "
            "(Debian/Ubuntu: sudo apt-get install libportaudio2)"
        ) from exc
    return sounddevice


def list_input_devices() -> list[dict[str, Any]]:
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
    except Exception as exc:  # PortAudio errors come as several types
        raise AudioError(f"cannot list audio devices: {exc}") from None
    default_in = _default_input_index(sd)
    return [
        {
            "index": i,
            "name": d["name"],
            "default_samplerate": d["default_samplerate"],
            "channels": d["max_input_channels"],
            "default": i == default_in,
        }
        for i, d in enumerate(devices)
        if d["max_input_channels"] > 0
    ]


def _default_input_index(sd: Any) -> int | None:
    try:
        index = sd.default.device[0]
    except Exception:
        return None
    if index is None or index < 0:
        return None
    return int(index)


def find_input_device(device: int | str | None) -> dict[str, Any]:
    """The input device for a config value: index, name substring or None (default)."""
    inputs = list_input_devices()
    if not inputs:
        raise AudioError(
            "no microphone found: the system has no audio input device. Connect one, or run "
            "on a file: voiceflow run --input command.wav"
        )
    if device is None:
        for d in inputs:
            if d["default"]:
                return d
        return inputs[0]
    if isinstance(device, int):
        for d in inputs:
            if d["index"] == device:
                return d
        raise AudioError(
            f"audio.device: no input device has index {device} (see voiceflow devices)"
        )
    matches = [d for d in inputs if device.lower() in d["name"].lower()]
    if not matches:
        raise AudioError(
            f"audio.device: no input device name contains {device!r} (see voiceflow devices)"
        )
    return matches[0]


STALL_S = 2.0
"""A live stream that has delivered nothing for this long is taken for lost."""
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Waits between attempts to get a lost device back (the last one repeats)."""


class MicrophoneSource:
    """Live capture with a PortAudio ``InputStream`` whose callback only fills a ``BlockQueue``.

    When the device disappears (unplugged, the audio server restarted) this is said once
    through ``notice``, and the device is looked for again, by name, with backoff; capture
    resumes when it is back. Blocks keep their stream positions: the gap is not filled.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        block_ms: int = 32,
        queue_s: float = 10.0,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self._sd = _sounddevice()
        self.spec = device
        try:
            self.device = find_input_device(device)
        except AudioError as exc:
            from agent.service import audio_server_problem

            problem = audio_server_problem()
            raise AudioError(f"{exc}. {problem}" if problem else str(exc)) from None
        self.live = True
        self.block_ms = block_ms
        self.rate, self.channels = self._choose_format()
        self.block_frames = max(1, self.rate * block_ms // 1000)
        capacity = max(2, math.ceil(queue_s * 1000 / block_ms))
        self.queue = BlockQueue(capacity, self.block_frames)
        self.status_flags = 0
        """Callbacks that reported an overflow or underflow."""
        self.losses = 0
        """Times the device was lost."""
        self.notice = notice or (lambda msg: print(f"voiceflow: {msg}", file=sys.stderr))

    @property
    def name(self) -> str:
        return f"microphone {self.device['name']!r} ({self.rate} Hz, {self.channels} ch)"

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def _choose_format(self) -> tuple[int, int]:
        index = self.device["index"]
        max_ch = max(1, int(self.device["channels"]))
        native = int(self.device["default_samplerate"])
        for rate in (RATE, native):
            for channels in (1, min(2, max_ch), max_ch):
                try:
                    self._sd.check_input_settings(device=index, samplerate=rate, channels=channels)
                    return rate, channels
                except Exception:
                    continue
        raise AudioError(f"microphone {self.device['name']!r}: no usable sample rate/channels")

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # Real-time thread: copy into the pre-allocated queue and return. Nothing else.
        if status:
            self.status_flags += 1
        self.queue.put(indata)

    def _open(self) -> Any:
        try:
            stream = self._sd.InputStream(
                device=self.device["index"],
                samplerate=self.rate,
                channels=self.channels,
                dtype="float32",
                blocksize=self.block_frames,
                callback=self._callback,
            )
            stream.start()
        except Exception as exc:
            raise AudioError(f"cannot open microphone {self.device['name']!r}: {exc}") from None
        self.queue.last_put = time.monotonic()
        return stream

    def _find_again(self) -> None:
        """Re-scan devices (PortAudio only sees new ones after a re-initialisation) and
        pick the same device by name, else by the configured choice."""
        with contextlib.suppress(Exception):
            self._sd._terminate()
        try:
            self._sd._initialize()
        except Exception as exc:
            raise AudioError(f"PortAudio cannot start: {exc}") from None
        try:
            self.device = find_input_device(self.device["name"])
        except AudioError:
            self.device = find_input_device(self.spec)
        rate, channels = self._choose_format()
        if (rate, channels) != (self.rate, self.channels):
            self.rate, self.channels = rate, channels
            self.block_frames = max(1, rate * self.block_ms // 1000)
            self.queue = BlockQueue(self.queue.capacity, self.block_frames)

    def _lost(self, stream: Any) -> bool:
        return not stream.active or time.monotonic() - self.queue.last_put > STALL_S

    async def blocks(self) -> AsyncGenerator[tuple[np.ndarray, float], None]:
        stream = self._open()  # the first open fails loudly: the user is there to see it
        while True:
            resample = Resampler(self.rate) if self.rate != RATE else None
            try:
                async for item in drain_queue(self.queue, resample, partial(self._lost, stream)):
                    yield item
            finally:
                with contextlib.suppress(Exception):
                    stream.abort(ignore_errors=True)
                    stream.close(ignore_errors=True)
            self.losses += 1
            self.notice(f"audio device {self.device['name']!r} lost; retrying with backoff")
            stream = await self._reopen()
            self.notice(f"audio capture resumed on {self.device['name']!r}")

    async def _reopen(self) -> Any:
        attempt = 0
        while True:
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1
            try:
                self._find_again()
                return self._open()
            except AudioError:
                continue  # said once already; keep trying quietly


def open_source(
    input_path: str | None,
    *,
    fast: bool,
    device: int | str | None,
    block_ms: int,
    queue_s: float,
    notice: Callable[[str], None] | None = None,
) -> AudioSource:
    """The source for ``voiceflow run``: ``-`` is stdin, a path is a file, none is the mic."""
    if input_path == "-":
        return StdinSource(queue_s=queue_s)
    if input_path is not None:
        return FileSource(input_path, fast=fast)
    return MicrophoneSource(device, block_ms=block_ms, queue_s=queue_s, notice=notice)
