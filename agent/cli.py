"""The ``voiceflow`` command line.

Exit codes: 0 done; 1 a runtime failure (no microphone, unreadable audio file);
2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent import events
from agent.capture import AudioError, list_input_devices, open_source, read_file
from agent.config import Config, ConfigError, default_config_path, load_config
from agent.loader import Registry, load_plugins
from agent.log import close_logger, make_logger
from agent.service import Notifier
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

    tri = sub.add_parser("try", help="show which command a phrase would run (no audio, no model)")
    tri.add_argument("text", help='what you would say, e.g. "set a timer for five minutes"')
    tri.add_argument("--run", action="store_true", help="also run the handler")
    tri.add_argument("--json", action="store_true", help="JSON output")

    ev = sub.add_parser("eval", help="measure wake, command and word accuracy on a manifest")
    ev.add_argument(
        "manifest",
        nargs="+",
        help="manifests of clips (see agent/manifest.py, eval/); several: a table at the end",
    )
    ev.add_argument("--json", action="store_true", help="JSON output")
    ev.add_argument(
        "--details",
        action="store_const",
        const="all",
        help="also each clip: its verdict, transcripts and the commands run",
    )
    ev.add_argument(
        "--misses",
        dest="details",
        action="store_const",
        const="misses",
        help="as --details, only the clips that went wrong",
    )
    ev.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="only the clips with this tag (repeat: with all of them)",
    )

    rec = sub.add_parser("record", help="record your own voice saying a manifest's prompts")
    rec.add_argument("prompts", help="a manifest whose clips say what to say (eval/manifest.yaml)")
    rec.add_argument("out", help="a folder: clips/ and manifest.yaml are written there")
    rec.add_argument(
        "--seconds", type=float, default=5.0, help="recording length per prompt (default 5)"
    )
    rec.add_argument(
        "--tag", action="append", default=[], metavar="TAG", help="a tag for every clip (a name)"
    )

    bench = sub.add_parser("bench", help="measure latency, CPU, memory and throughput")
    bench.add_argument("--tiny", action="store_true", help="a few seconds per section (for tests)")
    bench.add_argument("--json", action="store_true", help="JSON output")

    svc = sub.add_parser("service", help="install or remove the systemd user service")
    svc.add_argument("action", choices=("install", "uninstall"))
    svc.add_argument("--print", action="store_true", help="show the unit file; write nothing")

    plg = sub.add_parser("plugins", help="list loaded plugins, their templates and load errors")
    plg.add_argument("--json", action="store_true", help="JSON output")
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
        if cmd == "try":
            return asyncio.run(_try(config, args.text, args.run, args.json))
        if cmd == "plugins":
            return _plugins(config, args.json)
        if cmd == "eval":
            from agent.evaluate import run as run_eval

            return run_eval(args.manifest, args.config, args.json, args.details, args.tag)
        if cmd == "record":
            from agent.record import run as run_record

            return run_record(args.prompts, args.out, config, args.seconds, args.tag)
        if cmd == "bench":
            from agent.bench import run as run_bench

            return run_bench(config, args.tiny, args.json)
        if cmd == "service":
            return _service(args.action, args.print, args.config)
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
    audio = read_file(path)
    model = Transcriber(config.model)
    try:
        segments = model.transcribe_file_sync(audio)
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
    registry = _load(config)
    try:
        code, stuck = asyncio.run(
            _serve(config, args.config, source, transcriber, registry, args.json, level)
        )
    finally:
        transcriber.close()
    if stuck:
        # A plugin thread that hangs forever would block the interpreter's exit (it joins
        # pool threads); everything is flushed, so leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _load(config: Config) -> Registry:
    p = config.plugins
    return load_plugins(p.dirs, p.settings, p.entry_points)


async def _serve(
    config: Config,
    config_path: str | None,
    source: Any,
    transcriber: Transcriber,
    registry: Registry,
    as_json: bool,
    level: str,
) -> tuple[int, bool]:
    """Run the pipeline until the source ends or a signal; (exit code, handler stuck)."""
    from agent.pipeline import Pipeline

    log = make_logger(level)
    sink = events.EventSink(json_lines=as_json)
    for err in registry.errors:
        log.error(f"plugin rejected: {err}")
    log.info(
        f"model {transcriber.path} loaded in {transcriber.load_s:.2f} s; "
        f"plugins: {', '.join(registry.plugins) or 'none'}"
    )
    if config_path is None and default_config_path().exists():
        config_path = str(default_config_path())
    if hasattr(source, "notice"):
        source.notice = log.warning
    notifier = Notifier()
    pipeline = Pipeline(config, source, transcriber, registry, sink, log, config_path, notifier)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pipeline.stop)
    loop.add_signal_handler(signal.SIGHUP, pipeline.request_reload)
    code = 0
    try:
        await pipeline.run()
    except AudioError as exc:
        log.error(str(exc))
        print(f"voiceflow: {exc}", file=sys.stderr)
        code = EXIT_RUNTIME
    finally:
        notifier.close()
        await close_logger(log)
    return code, pipeline.dispatcher.stuck


def _service(action: str, show: bool, config_path: str | None) -> int:
    from agent import service

    config_abs = str(Path(config_path).resolve()) if config_path else None
    if action == "install":
        if show:
            print(service.unit_text(config=config_abs), end="")
            return 0
        path = service.install(config=config_abs)
        print(f"wrote {path}")
        print(
            "start it now and at every login:  systemctl --user daemon-reload && "
            "systemctl --user enable --now voiceflow"
        )
        print("follow its log:                    journalctl --user -u voiceflow -f")
        return 0
    removed = service.uninstall()
    if removed is None:
        print("no voiceflow.service was installed")
    else:
        print(
            f"removed {removed}; run: systemctl --user disable --now voiceflow; "
            "systemctl --user daemon-reload"
        )
    return 0


def _plugins(config: Config, as_json: bool) -> int:
    registry = _load(config)
    if as_json:
        data = {
            "plugins": [
                {
                    "name": name,
                    "source": registry.sources.get(name),
                    "commands": [
                        {
                            "command": c.name,
                            "templates": [t.source for t in c.templates],
                            "known": [slot for slot, _ in c.known],
                        }
                        for c in registry.commands
                        if c.plugin == name
                    ],
                }
                for name in registry.plugins
            ],
            "errors": list(registry.errors),
        }
        print(json.dumps(data, indent=2))
        return 0
    for name in registry.plugins:
        print(f"{name}  ({registry.sources.get(name)})")
        for c in registry.commands:
            if c.plugin == name:
                known = ", ".join(slot for slot, _ in c.known)
                print(
                    f"  {c.name}:" + (f"  (the plugin knows what {known} may be)" if known else "")
                )
                for t in c.templates:
                    print(f"    {t.source}")
    if registry.errors:
        print("\nload errors:")
        for err in registry.errors:
            print(f"  {err}")
    return 0


async def _try(config: Config, text: str, run: bool, as_json: bool) -> int:
    from agent.dispatch import Dispatcher
    from agent.text import words
    from agent.wake import WakeMatcher

    registry = _load(config)
    said = words(text)
    wake = WakeMatcher.from_config(config.wake).match(said)  # no audio to ask: the words decide
    command_words = wake.command if wake is not None else said
    ranking = registry.match(command_words, config.plugins.match_threshold)

    def describe(m: Any) -> dict[str, Any] | None:
        if m is None:
            return None
        return {
            "plugin": m.command.plugin,
            "command": m.command.name,
            "template": m.template,
            "slots": m.slots,
            "score": m.score,
        }

    result: dict[str, Any] = {
        "text": " ".join(command_words),
        "wake": wake.phrase if wake is not None else None,
        "match": describe(ranking.best),
        "runner_up": describe(ranking.runner_up),
        "ambiguous": ranking.ambiguous,
        "threshold": config.plugins.match_threshold,
    }
    if ranking.best is None and ranking.candidates:
        result["below_threshold"] = describe(ranking.candidates[0])
    code = 0 if ranking.best is not None else EXIT_RUNTIME
    if run and ranking.best is not None:
        log = make_logger("warning" if not as_json else "error")
        said_lines: list[str] = []
        dispatcher = Dispatcher(
            config.plugins.settings,
            config.plugins.timeout_s,
            lambda e: said_lines.append(getattr(e, "text", "")),
            log,
        )
        ctx = dispatcher.context(ranking.best, result["text"], text, None)
        try:
            result["reply"] = await dispatcher.call(ranking.best, ctx)
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
            code = EXIT_RUNTIME
        result["said"] = said_lines
        await dispatcher.drain(grace_s=0.5)
        await close_logger(log)
    if as_json:
        print(json.dumps(result, default=str))
        return code
    best = ranking.best
    if best is None:
        print(f"no command matches {result['text']!r}")
        if "below_threshold" in result:
            b = result["below_threshold"]
            print(
                f"  closest: {b['plugin']}.{b['command']} ({b['template']!r}) "
                f"score {b['score']} < threshold {config.plugins.match_threshold:g}"
            )
    else:
        print(
            f"{best.command.plugin}.{best.command.name}  template {best.template!r}  "
            f"score {best.score}"
        )
        print(f"  slots: {best.slots}")
        if ranking.runner_up is not None:
            r = ranking.runner_up
            print(
                f"  runner-up: {r.command.plugin}.{r.command.name} ({r.template!r}) "
                f"score {r.score}" + ("  [ambiguous]" if ranking.ambiguous else "")
            )
        if "reply" in result:
            print(f"  reply: {result['reply']}")
        if "error" in result:
            print(f"  error: {result['error']}")
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
