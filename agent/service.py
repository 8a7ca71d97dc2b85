"""Running as a systemd user service: sd_notify, the watchdog, and the unit file.

sd_notify is a plain datagram to ``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract
namespace); with the variable unset nothing is sent. The watchdog pings at half of
``$WATCHDOG_USEC`` from the event loop, and only while the pipeline reports that audio is
still arriving, so a stalled loop or a dead audio stream both stop the pings and systemd
restarts the agent.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

UNIT_NAME = "voiceflow.service"


class Notifier:
    """sd_notify over a datagram socket; a no-op when ``$NOTIFY_SOCKET`` is unset."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        address = env.get("NOTIFY_SOCKET") or ""
        self.address: str | None = None
        if address.startswith("@"):
            self.address = "\0" + address[1:]
        elif address.startswith("/"):
            self.address = address
        self._sock: socket.socket | None = None
        if self.address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        self.watchdog_s: float | None = None
        """The watchdog interval, when systemd asks for one (for this process)."""
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_s = int(usec) / 1e6
        self.sent = 0
        self._last_status = ""

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, *fields: str) -> bool:
        if self._sock is None or self.address is None:
            return False
        try:
            self._sock.sendto("\n".join(fields).encode(), self.address)
        except OSError:  # systemd gone or busy: never let notification break the agent
            return False
        self.sent += 1
        return True

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def reloading(self) -> None:
        self.send(
            "RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"
        )

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")

    def status(self, text: str) -> None:
        if text != self._last_status:
            self._last_status = text
            self.send(f"STATUS={text}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


async def watchdog(notifier: Notifier, alive: Callable[[], bool]) -> None:
    """Ping ``WATCHDOG=1`` at half the interval while ``alive()``; runs until cancelled."""
    if notifier.watchdog_s is None:
        return
    period = notifier.watchdog_s / 2
    while True:
        if alive():
            notifier.send("WATCHDOG=1")
        await asyncio.sleep(period)


# --------------------------------------------------------------------------- audio server
def audio_server_problem(env: dict[str, str] | None = None) -> str | None:
    """Why the user's PulseAudio/PipeWire probably cannot be reached, or None.

    Under systemd a *system* service, or a shell without a login session, has no
    ``XDG_RUNTIME_DIR``; the audio server's socket lives there.
    """
    env = dict(os.environ) if env is None else env
    if env.get("PULSE_SERVER"):
        return None
    runtime = env.get("XDG_RUNTIME_DIR")
    if not runtime:
        return (
            "XDG_RUNTIME_DIR is not set, so the user's PulseAudio/PipeWire cannot be found. "
            "Run VoiceFlow as a systemd *user* service (voiceflow service install), or "
            "export XDG_RUNTIME_DIR=/run/user/$(id -u)"
        )
    base = Path(runtime)
    if not (base / "pulse" / "native").exists() and not (base / "pipewire-0").exists():
        return (
            f"no PulseAudio or PipeWire socket in XDG_RUNTIME_DIR={runtime} "
            "(is the audio server running for this user?)"
        )
    return None


# --------------------------------------------------------------------------- unit file
def voiceflow_executable() -> str:
    """The absolute path of the installed ``voiceflow`` script."""
    here = Path(sys.executable).parent / "voiceflow"
    if here.exists():
        return str(here.resolve())
    found = shutil.which("voiceflow")
    if found:
        return str(Path(found).resolve())
    return f"{Path(sys.executable).resolve()} -m agent"


def unit_text(
    executable: str | None = None, config: str | None = None, watchdog_s: int = 30
) -> str:
    exe = executable or voiceflow_executable()
    config_arg = f" --config {config}" if config else ""
    return f"""\
[Unit]
Description=VoiceFlow offline voice-command agent
Documentation=https://github.com/voiceflow/voiceflow#readme
After=pipewire-pulse.service pulseaudio.service sound.target
StartLimitIntervalSec=120
StartLimitBurst=10

[Service]
Type=notify
NotifyAccess=main
ExecStart={exe}{config_arg} run
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=3
WatchdogSec={watchdog_s}
TimeoutStartSec=60
TimeoutStopSec=10
Environment=PYTHONUNBUFFERED=1
# Hardening that still reaches the user's audio server (its socket is in %t).
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=-%t -%h/.config/voiceflow -%h/.local/state/voiceflow
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictNamespaces=yes
SystemCallArchitectures=native
UMask=0077

[Install]
WantedBy=default.target
"""


def unit_path(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME", "~"), ".config")
    return Path(base).expanduser() / "systemd" / "user" / UNIT_NAME


def install(config: str | None = None) -> Path:
    path = unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(config=config))
    return path


def uninstall() -> Path | None:
    path = unit_path()
    if path.exists():
        path.unlink()
        return path
    return None
