"""Endpointing: where an utterance starts and ends, as a pure state machine.

Fed one ``(samples, speech probability)`` pair per VAD chunk, it returns what happened.
It has no clock and does no I/O: positions are absolute sample counts in the stream, so it
is tested by feeding numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EndpointParams:
    """Endpointing parameters, in samples (see ``VadConfig`` for the user-facing ones)."""

    threshold: float
    """Probability at or above which a chunk starts (or strongly continues) speech."""
    neg_threshold: float
    """In speech, a chunk below this probability counts as silence."""
    min_silence: int
    """Silence that ends an utterance."""
    min_speech: int
    """Voiced samples an utterance needs not to be discarded."""
    max_length: int
    """An utterance is ended here even while speech goes on."""
    pause: int = 0
    """Silence after which ``SpeechPaused`` is reported once (0: never); the pipeline
    starts transcribing then, speculatively, instead of waiting for ``min_silence``."""

    @classmethod
    def from_ms(
        cls,
        *,
        threshold: float,
        neg_threshold: float,
        min_silence_ms: int,
        min_speech_ms: int,
        max_utterance_s: float,
        pause_ms: int = 0,
        rate: int = 16000,
    ) -> EndpointParams:
        return cls(
            pause=rate * pause_ms // 1000,
            threshold=threshold,
            neg_threshold=neg_threshold,
            min_silence=rate * min_silence_ms // 1000,
            min_speech=rate * min_speech_ms // 1000,
            max_length=int(rate * max_utterance_s),
        )


@dataclass(frozen=True)
class SpeechStarted:
    start: int
    """Position of the first voiced chunk."""


@dataclass(frozen=True)
class SpeechEnded:
    start: int
    """Position of the first voiced chunk."""
    end: int
    """Position just after the last voiced chunk: the end of speech."""
    reason: str
    """``silence``, ``max_length`` or ``end_of_stream``."""
    voiced: int = 0
    """Samples the VAD called speech between ``start`` and ``end``."""


@dataclass(frozen=True)
class SpeechPaused:
    start: int
    """Position of the first voiced chunk."""
    end: int
    """End of the voiced audio so far: where speech paused."""
    voiced: int = 0
    """Samples the VAD called speech between ``start`` and ``end``."""


@dataclass(frozen=True)
class SpeechDiscarded:
    start: int
    end: int
    """Too little voiced audio (a click, a cough): not an utterance."""


Transition = SpeechStarted | SpeechPaused | SpeechEnded | SpeechDiscarded


class Endpointer:
    """Idle -> speech on a chunk >= threshold; speech -> idle after ``min_silence`` of chunks
    below ``neg_threshold``, or at ``max_length``."""

    def __init__(self, params: EndpointParams) -> None:
        self.params = params
        self.position = 0
        """Samples fed so far."""
        self.in_speech = False
        self._start = 0
        self._last_voiced_end = 0
        self._voiced = 0
        self._silence = 0

    @property
    def last_voiced_end(self) -> int:
        """End of the newest voiced chunk of the current utterance."""
        return self._last_voiced_end

    @property
    def silence(self) -> int:
        """Samples of silence since the last voiced chunk (0 while idle)."""
        return self._silence if self.in_speech else 0

    def feed(self, samples: int, prob: float) -> Transition | None:
        p = self.params
        begin = self.position
        self.position += samples
        if not self.in_speech:
            if prob < p.threshold:
                return None
            self.in_speech = True
            self._start = begin
            self._last_voiced_end = self.position
            self._voiced = samples
            self._silence = 0
            return SpeechStarted(begin)
        if prob >= p.neg_threshold:
            self._voiced += samples
            self._silence = 0
            self._last_voiced_end = self.position
        else:
            self._silence += samples
        if self._silence >= p.min_silence:
            return self._finish("silence")
        crossed = self._silence >= p.pause > self._silence - samples
        if p.pause and crossed and self._voiced >= p.min_speech:
            return SpeechPaused(self._start, self._last_voiced_end, self._voiced)
        # Cut before the next chunk (of the same size) would take it past max_length.
        if self.position - self._start + samples > p.max_length:
            return self._finish("max_length")
        return None

    def cut(self) -> SpeechEnded | SpeechDiscarded | None:
        """End the utterance now (its command was already acted on during a pause)."""
        return self._finish("early") if self.in_speech else None

    def flush(self) -> Transition | None:
        """The stream ended: close an utterance in progress."""
        return self._finish("end_of_stream") if self.in_speech else None

    def _finish(self, reason: str) -> SpeechEnded | SpeechDiscarded:
        self.in_speech = False
        end = self._last_voiced_end
        if self._voiced < self.params.min_speech:
            return SpeechDiscarded(self._start, end)
        return SpeechEnded(self._start, end, reason, self._voiced)
