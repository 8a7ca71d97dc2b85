"""The ``voiceflow`` command line.

Exit codes: 0 done; 1 a runtime failure (no microphone, unreadable audio file);
2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from typing import Any

from agent import events
from agent.capture import AudioError, decode_file, list_input_devices, open_source
from agent.config import Config, ConfigError, load_config
from agent.loader import load_plugins
from agent.log import close_logger, make_logger
from agent.transcribe import ModelError, Transcriber

EXIT_RUNTIME = 1
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voiceflow", description="Offline voice-command agent.")
    p.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $XDG_CONFIG_HOME/voiceflow/config.yaml)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(cmd="run", input=None, fast=False, json=False)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    run = sub.add_parser("run", help="listen and run commands (default)")
    run.add_argument(
        "--input",
        metavar="PATH",
        help="read audio from a file instead of the microphone; "
        "- reads raw 16 kHz s16le mono from stdin",
    )
    run.add_argument(
        "--fast",
        action="store_true",
        help="with --input FILE: as fast as possible instead of real time",
    )
    run.add_argument("--json", action="store_true", help="one JSON object per event on stdout")

    tr = sub.add_parser("transcribe", help="transcribe an audio file")
    tr.add_argument("file")
    tr.add_argument("--json", action="store_true", help="JSON segments instead of plain text")

    sub.add_parser("devices", help="list audio input devices")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cmd = args.cmd
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"voiceflow: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if cmd == "devices":
            return _devices()
        if cmd == "transcribe":
            return _transcribe(config, args.file, args.json)
        return _run(config, args)
    except (AudioError, ModelError) as exc:
        print(f"voiceflow: {exc}", file=sys.stderr)
        return EXIT_CONFIG if isinstance(exc, ModelError) else EXIT_RUNTIME
    except KeyboardInterrupt:
        return 0


def _devices() -> int:
    devices = list_input_devices()
    if not devices:
        print("no audio input devices found", file=sys.stderr)
        return EXIT_RUNTIME
    for d in devices:
        mark = "*" if d["default"] else " "
        rate = f"{d['default_samplerate']:.0f} Hz"
        print(f"{mark} {d['index']:>3}  {d['name']}  ({rate}, {d['channels']} ch)")
    return 0


def _transcribe(config: Config, path: str, as_json: bool) -> int:
    import numpy as np

    blocks = list(decode_file(path, block=16000 * 30))
    audio = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    model = Transcriber(config.model)
    try:
        segments, _info = model.model.transcribe(
            audio,
            language=config.model.language,
            beam_size=config.model.transcribe_beam_size,
            vad_filter=True,
        )
        for s in segments:
            if as_json:
                print(
                    json.dumps(
                        {"start": round(s.start, 2), "end": round(s.end, 2), "text": s.text.strip()}
                    )
                )
            else:
                print(s.text.strip(), flush=True)
    finally:
        model.close()
    return 0


def _run(config: Config, args: argparse.Namespace) -> int:
    level = "debug" if args.verbose else config.logging.level
    if args.fast and args.input in (None, "-"):
        print("voiceflow: --fast needs --input FILE", file=sys.stderr)
        return EXIT_CONFIG
    source = open_source(
        args.input,
        fast=args.fast,
        device=config.audio.device,
        block_ms=config.audio.block_ms,
        queue_s=config.audio.queue_s,
    )
    transcriber = Transcriber(config.model)
    registry = load_plugins(config.plugins.dirs)
    try:
        return asyncio.run(_serve(config, source, transcriber, registry, args.json, level))
    finally:
        transcriber.close()


async def _serve(
    config: Config, source: Any, transcriber: Transcriber, registry: Any, as_json: bool, level: str
) -> int:
    from agent.pipeline import Pipeline

    log = make_logger(level)
    sink = events.EventSink(json_lines=as_json)
    for err in registry.errors:
        log.error(f"plugin rejected: {err}")
    log.info(
        f"model {transcriber.path} loaded in {transcriber.load_s:.2f} s; "
        f"plugins: {', '.join(registry.plugins) or 'none'}"
    )
    pipeline = Pipeline(config, source, transcriber, registry, sink, log)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pipeline.stop)
    sink.emit(
        events.Ready(
            source.name, str(transcriber.path), round(transcriber.load_s, 3), list(registry.plugins)
        )
    )
    code = 0
    try:
        await pipeline.run()
    except AudioError as exc:
        log.error(str(exc))
        print(f"voiceflow: {exc}", file=sys.stderr)
        code = EXIT_RUNTIME
    finally:
        await close_logger(log)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
