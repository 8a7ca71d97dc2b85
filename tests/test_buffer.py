"""The capture hand-off and the stream history."""

from __future__ import annotations

import threading
import time

import numpy as np

from agent.buffer import BlockQueue, StreamHistory
from agent.capture import Resampler


def block(value: float, frames: int = 512, channels: int = 1) -> np.ndarray:
    return np.full((frames, channels), value, dtype=np.float32)


def drain(q: BlockQueue) -> list[float]:
    out = []
    while (slot := q.pop()) is not None:
        samples, _t = q.view(slot)
        out.append(float(samples[0]))
        q.release(slot)
    return out


def test_fifo_order_and_notify_once_per_arm() -> None:
    calls = []
    q = BlockQueue(8, 512, notify=lambda: calls.append(1))
    q.arm()
    for v in (1, 2, 3):
        q.put(block(v))
    assert len(calls) == 1  # one wake-up for a burst
    assert drain(q) == [1, 2, 3]
    q.arm()
    q.put(block(4))
    assert len(calls) == 2


def test_overflow_drops_oldest_and_counts() -> None:
    q = BlockQueue(4, 512)
    for v in range(10):
        q.put(block(v))
    assert q.dropped == 6
    assert q.received == 10
    assert drain(q) == [6, 7, 8, 9]  # the newest audio survives


def test_stereo_is_downmixed_into_the_slot() -> None:
    q = BlockQueue(4, 512)
    stereo = np.zeros((512, 2), dtype=np.float32)
    stereo[:, 0] = 0.5
    stereo[:, 1] = -0.1
    q.put(stereo)
    slot = q.pop()
    assert slot is not None
    samples, _ = q.view(slot)
    assert samples.shape == (512,)
    assert np.allclose(samples, 0.2)


def test_producer_never_blocks_while_consumer_stalls() -> None:
    """The consumer holds a slot and sleeps; the producer still finishes every put at once."""
    q = BlockQueue(16, 512)
    q.put(block(0))
    held = q.pop()  # the consumer is "busy" with this slot
    assert held is not None
    data = block(1.0)
    done = threading.Event()
    worst = [0.0]

    def produce() -> None:
        for _ in range(5000):
            t = time.perf_counter()
            q.put(data)
            worst[0] = max(worst[0], time.perf_counter() - t)
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    assert done.wait(10), "producer blocked"
    thread.join()
    assert q.dropped == 5000 - 16  # everything beyond the 16 free slots, oldest first
    assert len(q) == 16
    q.release(held)
    assert worst[0] < 0.1


def test_put_allocates_nothing_per_block() -> None:
    import tracemalloc

    q = BlockQueue(8, 512)
    stereo = np.ones((512, 2), dtype=np.float32)
    for _ in range(20):  # warm up
        q.put(stereo)
        drain(q)
    tracemalloc.start()
    snap1 = tracemalloc.take_snapshot()
    for _ in range(500):
        q.put(stereo)
        if len(q) > 4:
            drain(q)
    snap2 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap2.compare_to(snap1, "filename") if s.size_diff > 0)
    assert grown < 4096, f"{grown} bytes allocated by 500 puts"


def test_history_reads_across_wraparound() -> None:
    h = StreamHistory(1000)
    stream = np.arange(2500, dtype=np.float32)
    for i in range(0, 2500, 300):
        h.write(stream[i : i + 300])
    assert h.end == 2500
    assert np.array_equal(h.read(1800, 2400), stream[1800:2400])
    assert np.array_equal(h.read(1000, 2500), stream[1500:2500])  # clipped to what is held
    assert h.read(2600, 2700).size == 0


def test_resampler_48k_to_16k_keeps_pitch_and_length() -> None:
    rate = 48000
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    r = Resampler(rate)
    out = np.concatenate([r(tone[i : i + 1536]) for i in range(0, rate, 1536)])
    assert abs(out.size - 16000) < 200
    spectrum = np.abs(np.fft.rfft(out[2000:14000]))
    peak_hz = np.argmax(spectrum) * 16000 / 12000
    assert abs(peak_hz - 440) < 5
