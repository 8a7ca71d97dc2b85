"""Audio buffers: the capture hand-off (audio thread -> event loop) and the stream history.

``BlockQueue`` is the only object the real-time audio callback touches. Its memory is
allocated once: a pool of block slots, a deque of free slot numbers and a deque of filled
ones. ``deque.append``/``popleft`` are atomic in CPython, so neither side takes a lock and
the producer never waits.

Drop policy: when every slot is full (the consumer has fallen ``capacity`` blocks behind),
the producer takes back the *oldest* filled slot, overwrites it with the new block, and
counts one dropped block. Fresh audio is worth more to a voice agent than stale audio.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np

from agent.sanitize import sample_scale


class BlockQueue:
    """Bounded, allocation-free, lock-free single-producer/single-consumer block hand-off."""

    def __init__(
        self,
        capacity: int,
        block_frames: int,
        notify: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2 blocks")
        self.capacity = capacity
        self.block_frames = block_frames
        # One slot more than capacity: the consumer holds one while it works on it.
        self._pool = np.zeros((capacity + 1, block_frames), dtype=np.float32)
        self._lengths = np.zeros(capacity + 1, dtype=np.int64)
        self._times = np.zeros(capacity + 1, dtype=np.float64)
        self._free: deque[int] = deque(range(capacity + 1))
        self._ready: deque[int] = deque()
        self._weights: dict[int, np.ndarray] = {}
        self.notify = notify
        """Called (from the audio thread) when a block arrives and none was pending."""
        self._clock = clock
        self._pending = False
        self.dropped = 0
        """Blocks dropped under the drop-oldest policy since creation."""
        self.received = 0
        """Blocks handed in by the producer since creation."""
        self.last_put = 0.0
        """Clock time of the newest block (0 before the first)."""

    # -- producer side (audio thread) -------------------------------------------------
    def put(self, indata: np.ndarray) -> None:
        """Copy one ``(frames, channels)`` block in, downmixing to mono and scaling integer
        samples to [-1, 1]. Never blocks. NaN/Inf and range are left to the loop side
        (``agent.sanitize``), so the callback does no more than copy."""
        self.received += 1
        ready = self._ready
        slot = -1
        if len(ready) >= self.capacity:
            try:
                slot = ready.popleft()  # full: drop the oldest queued block
                self.dropped += 1
            except IndexError:  # the consumer just emptied it
                slot = -1
        if slot < 0:
            try:
                slot = self._free.popleft()
            except IndexError:  # pragma: no cover - needs the consumer to hold two slots
                self.dropped += 1
                return
        buf = self._pool[slot]
        n = min(indata.shape[0], self.block_frames)
        if indata.ndim == 1:
            buf[:n] = indata[:n]
        elif indata.shape[1] == 1:
            buf[:n] = indata[:n, 0]
        else:
            # Average the channels straight into the slot: one matrix-vector product with
            # weights made once per channel count (18x faster than np.add.reduce on axis 1).
            weights = self._weights.get(indata.shape[1])
            if weights is None:
                weights = np.full(indata.shape[1], 1.0 / indata.shape[1], dtype=np.float32)
                self._weights[indata.shape[1]] = weights
            np.matmul(indata[:n], weights, out=buf[:n])
        if indata.dtype.kind == "i":  # an integer stream: scale to [-1, 1]
            buf[:n] *= sample_scale(indata.dtype)
        self._lengths[slot] = n
        now = self._clock()
        self._times[slot] = now
        self.last_put = now
        self._ready.append(slot)
        if not self._pending and self.notify is not None:
            self._pending = True
            self.notify()

    # -- consumer side (event loop) ---------------------------------------------------
    def arm(self) -> None:
        """Ask to be notified on the next ``put``; call before draining."""
        self._pending = False

    def pop(self) -> int | None:
        """The oldest filled slot, or None. The slot is the caller's until ``release``."""
        try:
            return self._ready.popleft()
        except IndexError:
            return None

    def view(self, slot: int) -> tuple[np.ndarray, float]:
        """The slot's samples (a view, valid until ``release``) and its capture time."""
        return self._pool[slot, : self._lengths[slot]], float(self._times[slot])

    def release(self, slot: int) -> None:
        self._free.append(slot)

    def __len__(self) -> int:
        return len(self._ready)


class StreamHistory:
    """The last ``capacity`` samples of the stream, addressed by absolute sample position.

    The endpointer reports where an utterance starts and ends; the pipeline then reads that
    span (with pre-roll) back from here, so no per-utterance buffer is grown chunk by chunk.
    """

    def __init__(self, capacity: int) -> None:
        self._buf = np.zeros(capacity, dtype=np.float32)
        self.capacity = capacity
        self.end = 0
        """Absolute position one past the newest sample written."""

    def write(self, samples: np.ndarray) -> None:
        n = samples.shape[0]
        if n >= self.capacity:
            self._buf[:] = samples[n - self.capacity :]
            self.end += n
            return
        i = self.end % self.capacity
        first = min(n, self.capacity - i)
        self._buf[i : i + first] = samples[:first]
        if first < n:
            self._buf[: n - first] = samples[first:]
        self.end += n

    def held_from(self, start: int) -> int:
        """``start``, or the oldest position still held if that is later."""
        return max(start, self.end - self.capacity, 0)

    def read(self, start: int, stop: int) -> np.ndarray:
        """A copy of samples ``[start, stop)``, clipped to what is still held."""
        start = self.held_from(start)
        stop = min(stop, self.end)
        if stop <= start:
            return np.zeros(0, dtype=np.float32)
        i, length = start % self.capacity, stop - start
        if i + length <= self.capacity:
            return self._buf[i : i + length].copy()
        return np.concatenate((self._buf[i:], self._buf[: i + length - self.capacity]))
