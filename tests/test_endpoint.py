"""The endpointer is a pure state machine: fed numbers, it answers numbers."""

from agent.endpoint import (
    Endpointer,
    EndpointParams,
    SpeechDiscarded,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
)

C = 512
PARAMS = EndpointParams.from_ms(
    threshold=0.5, neg_threshold=0.35, min_silence_ms=500, min_speech_ms=120, max_utterance_s=2.0
)


def feed(ep: Endpointer, probs: list[float]) -> list[object]:
    return [t for p in probs if (t := ep.feed(C, p)) is not None]


def test_silence_gives_nothing() -> None:
    ep = Endpointer(PARAMS)
    assert feed(ep, [0.01] * 200) == []
    assert ep.flush() is None


def test_speech_then_silence_ends_after_min_silence() -> None:
    ep = Endpointer(PARAMS)
    probs = [0.0] * 10 + [0.9] * 20 + [0.0] * 30
    out = feed(ep, probs)
    assert out[0] == SpeechStarted(10 * C)
    end = out[1]
    assert isinstance(end, SpeechEnded)
    assert (end.start, end.end, end.reason) == (10 * C, 30 * C, "silence")
    # 500 ms = 8000 samples = 15.6 chunks: ends on the 16th silent chunk.
    assert ep.position == 60 * C
    assert len(out) == 2


def test_end_fires_exactly_when_silence_reaches_min_silence() -> None:
    ep = Endpointer(PARAMS)
    feed(ep, [0.9] * 10)
    needed = -(-PARAMS.min_silence // C)
    for _ in range(needed - 1):
        assert ep.feed(C, 0.0) is None
    assert isinstance(ep.feed(C, 0.0), SpeechEnded)


def test_hysteresis_keeps_speech_between_thresholds() -> None:
    ep = Endpointer(PARAMS)
    out = feed(ep, [0.9] * 5 + [0.4] * 40 + [0.0] * 20)
    end = out[1]
    assert isinstance(end, SpeechEnded)
    assert end.end == 45 * C  # the 0.4 chunks counted as speech


def test_short_pause_does_not_split() -> None:
    ep = Endpointer(PARAMS)
    out = feed(ep, [0.9] * 10 + [0.0] * 8 + [0.9] * 10 + [0.0] * 20)
    assert [type(t) for t in out] == [SpeechStarted, SpeechEnded]
    assert out[1].end == 28 * C


def test_blip_is_discarded() -> None:
    ep = Endpointer(PARAMS)
    out = feed(ep, [0.9] * 2 + [0.0] * 20)  # 64 ms < 120 ms
    assert isinstance(out[1], SpeechDiscarded)


def test_max_length_cuts_long_speech() -> None:
    ep = Endpointer(PARAMS)
    out = feed(ep, [0.9] * 200)
    ends = [t for t in out if isinstance(t, SpeechEnded)]
    assert ends and ends[0].reason == "max_length"
    assert ends[0].end - ends[0].start <= PARAMS.max_length
    # speech goes on: a new utterance starts right after the cut
    assert sum(isinstance(t, SpeechStarted) for t in out) >= 2


def test_flush_closes_open_utterance() -> None:
    ep = Endpointer(PARAMS)
    feed(ep, [0.9] * 10)
    end = ep.flush()
    assert isinstance(end, SpeechEnded) and end.reason == "end_of_stream"
    assert ep.flush() is None


def test_pause_is_reported_once_before_the_end() -> None:
    params = EndpointParams.from_ms(
        threshold=0.5,
        neg_threshold=0.35,
        min_silence_ms=500,
        min_speech_ms=120,
        max_utterance_s=10,
        pause_ms=160,
    )
    ep = Endpointer(params)
    out = feed(ep, [0.9] * 20 + [0.0] * 30)
    assert [type(t) for t in out] == [SpeechStarted, SpeechPaused, SpeechEnded]
    assert out[1] == SpeechPaused(0, 20 * C, voiced=20 * C)
    assert out[2].voiced == 20 * C
    assert out[2].end == out[1].end  # nothing new: the speculative result stands


def test_speech_resuming_after_a_pause_moves_the_end() -> None:
    params = EndpointParams.from_ms(
        threshold=0.5,
        neg_threshold=0.35,
        min_silence_ms=500,
        min_speech_ms=120,
        max_utterance_s=10,
        pause_ms=160,
    )
    ep = Endpointer(params)
    out = feed(ep, [0.9] * 20 + [0.0] * 6 + [0.9] * 10 + [0.0] * 30)
    pauses = [t for t in out if isinstance(t, SpeechPaused)]
    assert [p.end for p in pauses] == [20 * C, 36 * C]
    assert out[-1].end == 36 * C


def test_cut_ends_the_utterance_early() -> None:
    ep = Endpointer(PARAMS)
    feed(ep, [0.9] * 10 + [0.0] * 3)
    end = ep.cut()
    assert isinstance(end, SpeechEnded) and end.reason == "early"
    assert not ep.in_speech and ep.cut() is None
