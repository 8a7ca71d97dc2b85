"""The VAD stage's two parts on their own: Silero's state at the start of a stream, and the
energy gate in front of it (the pipeline tests run both on real audio)."""

from __future__ import annotations

import numpy as np

from agent.vad import CHUNK, PRIME_CHUNKS, WARMUP_CHUNKS, EnergyGate, SileroVad


def test_the_model_starts_as_if_it_had_heard_a_quiet_room() -> None:
    """A fresh model scores a chunk as one that has heard ``PRIME_CHUNKS`` of silence from
    the all-zero state does, and ``reset`` returns it there."""
    rng = np.random.default_rng(3)
    chunks = [rng.normal(0, 0.1, CHUNK).astype(np.float32) for _ in range(4)]
    fresh = SileroVad()
    by_hand = SileroVad()
    by_hand._h[:] = 0.0
    by_hand._c[:] = 0.0
    by_hand._input[:] = 0.0
    for _ in range(PRIME_CHUNKS):
        by_hand(np.zeros(CHUNK, dtype=np.float32))
    first = [fresh(c) for c in chunks]
    assert first == [by_hand(c) for c in chunks]
    fresh.reset()
    assert [fresh(c) for c in chunks] == first


def test_the_energy_gate_passes_the_first_half_second_whatever_its_level() -> None:
    """A stream that opens loud (speech) and stays so: before the warm-up the floor was
    that speech and every chunk after the first was gated as noise. Now the first
    ``WARMUP_CHUNKS`` pass; a steady level after them is learnt and gated, and a chunk well
    above the floor still passes."""
    gate = EnergyGate(3.0)
    loud = np.full(CHUNK, 0.3, dtype=np.float32)
    assert all(gate.loud(loud) for _ in range(WARMUP_CHUNKS))
    assert not gate.loud(loud)
    assert gate.loud(loud * 3)
    assert gate.passed == WARMUP_CHUNKS + 1 and gate.gated == 1
    off = EnergyGate(0.0)
    assert all(off.loud(loud) for _ in range(3 * WARMUP_CHUNKS))
