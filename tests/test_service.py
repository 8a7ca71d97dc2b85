"""The agent as a systemd service: sd_notify, watchdog, signals, device loss, unit file."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from agent.service import Notifier, audio_server_problem, unit_text
from tests.conftest import REPO, Fixtures, Pulse, StdinAgent, join, run_cli, voiceflow_cmd
from tests.test_microphone import Agent, agent_env


class NotifySocket:
    """A stand-in for systemd's notify socket: a SOCK_DGRAM socket the test reads."""

    def __init__(self, path: Path | None = None, abstract: str | None = None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract is not None:
            self.sock.bind("\0" + abstract)
            self.address = "@" + abstract
        else:
            assert path is not None
            self.sock.bind(str(path))
            self.address = str(path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, list[str]]] = []

    def collect(self, seconds: float, until: str | None = None) -> list[list[str]]:
        deadline = time.monotonic() + seconds
        got: list[list[str]] = []
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            fields = data.decode().split("\n")
            self.messages.append((time.monotonic(), fields))
            got.append(fields)
            if until is not None and until in fields:
                break
        return got

    def count(self, field: str) -> int:
        return sum(field in m for _, m in self.messages)

    def close(self) -> None:
        self.sock.close()


def long_fixture(fixtures: Fixtures, tmp: Path) -> Path:
    """Ten seconds: silence, a command, silence (paced at real time by the agent)."""
    out = tmp / "long.wav"
    if not out.exists():
        silence = fixtures.path("silence.wav")
        join(out, silence, fixtures.path("time.wav"), silence)
    return out


@pytest.mark.parametrize("abstract", [False, True])
def test_ready_watchdog_stopping_under_a_fake_notify_socket(
    fixtures: Fixtures, isolated_env: dict, tmp_path: Path, abstract: bool
) -> None:
    ns = (
        NotifySocket(abstract=f"vf-test-{os.getpid()}")
        if abstract
        else NotifySocket(tmp_path / "notify")
    )
    env = dict(isolated_env, NOTIFY_SOCKET=ns.address, WATCHDOG_USEC="1000000")
    proc = subprocess.Popen(
        voiceflow_cmd("run", "--input", str(long_fixture(fixtures, tmp_path)), "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    try:
        ns.collect(60, until="READY=1")
        ready = next(m for _, m in ns.messages if "READY=1" in m)
        assert any(f.startswith("STATUS=listening") for f in ready)
        assert f"MAINPID={proc.pid}" in ready
        ns.collect(3.0)
        assert ns.count("WATCHDOG=1") >= 4  # every 0.5 s
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = proc.wait(10)
        elapsed = time.monotonic() - started
        ns.collect(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
        ns.close()
    assert code == 0
    assert elapsed < 5
    assert ns.count("STOPPING=1") >= 1
    statuses = [f for _, m in ns.messages for f in m if f.startswith("STATUS=")]
    assert statuses and all("\n" not in s for s in statuses)


def test_watchdog_stops_when_audio_stops(isolated_env: dict, tmp_path: Path) -> None:
    """Stdin stays open but no audio arrives: the pings must stop (a dead stream)."""
    ns = NotifySocket(tmp_path / "notify")
    agent = StdinAgent(dict(isolated_env, NOTIFY_SOCKET=ns.address, WATCHDOG_USEC="400000"))
    try:
        ns.collect(60, until="READY=1")
        for _ in range(20):  # 2 s of audio, in time
            agent.feed(0.1)
            ns.collect(0.1)
        assert ns.count("WATCHDOG=1") >= 3
        ns.collect(2.5)  # audio stops; within 2 s the agent stops vouching for itself
        before = ns.count("WATCHDOG=1")
        ns.collect(1.5)
        assert ns.count("WATCHDOG=1") == before
    finally:
        agent.stop()
        ns.close()


def test_sighup_reload_is_reported_to_systemd(isolated_env: dict, tmp_path: Path) -> None:
    ns = NotifySocket(tmp_path / "notify")
    agent = StdinAgent(dict(isolated_env, NOTIFY_SOCKET=ns.address))
    try:
        ns.collect(60, until="READY=1")
        agent.proc.send_signal(signal.SIGHUP)
        got = ns.collect(10, until="READY=1")
        flat = [f for m in got for f in m]
        assert "RELOADING=1" in flat and any(f.startswith("MONOTONIC_USEC=") for f in flat)
        assert flat.index("RELOADING=1") < len(flat) - 1 - flat[::-1].index("READY=1")
    finally:
        code = agent.stop()
        ns.close()
    assert code == 0


def test_notifier_is_silent_without_notify_socket() -> None:
    n = Notifier({})
    assert not n.enabled and n.watchdog_s is None
    assert n.send("READY=1") is False


def test_watchdog_pid_of_another_process_is_ignored() -> None:
    assert Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}).watchdog_s is None
    assert (
        Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}).watchdog_s == 1.0
    )


# ------------------------------------------------------------------ device loss
def test_capture_survives_an_audio_server_restart(
    pulse: Pulse, fixtures: Fixtures, isolated_env: dict
) -> None:
    agent = Agent(agent_env(pulse, isolated_env))
    try:
        agent.wait_for("ready", timeout=60)
        time.sleep(1.0)
        pulse.play(fixtures.path("time.wav"))
        agent.wait_for("command", timeout=30)
        pulse.stop()  # the audio server goes away under the running agent
        time.sleep(3)
        assert agent.proc.poll() is None, agent.stderr
        pulse.start()
        deadline = time.monotonic() + 40
        while "audio capture resumed" not in agent.stderr and time.monotonic() < deadline:
            time.sleep(0.2)
        assert agent.stderr.count("lost; retrying") == 1, agent.stderr  # said once
        assert "audio capture resumed" in agent.stderr, agent.stderr
        time.sleep(1.0)
        pulse.play(fixtures.path("time.wav"))
        cmd = agent.wait_for("command", timeout=30)
        assert cmd["command"] == "time_now"
    finally:
        code = agent.stop()
    assert code == 0, agent.stderr


# ------------------------------------------------------------------ audio server discovery
def test_missing_xdg_runtime_dir_is_detected() -> None:
    problem = audio_server_problem({"HOME": "/root"})
    assert problem is not None and "XDG_RUNTIME_DIR is not set" in problem
    assert audio_server_problem({"PULSE_SERVER": "unix:/x"}) is None


def test_missing_runtime_dir_message_from_the_cli(isolated_env: dict) -> None:
    env = {k: v for k, v in isolated_env.items() if k not in ("XDG_RUNTIME_DIR", "PULSE_SERVER")}
    proc = run_cli("run", env=env, timeout=60)
    assert proc.returncode == 1
    assert "XDG_RUNTIME_DIR" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ unit file
def test_unit_file_has_what_systemd_needs(tmp_path: Path, isolated_env: dict) -> None:
    proc = run_cli("service", "install", "--print", env=isolated_env)
    assert proc.returncode == 0, proc.stderr
    unit = proc.stdout
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "WantedBy=default.target",
    ):
        assert line in unit
    assert "WatchdogSec=" in unit
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    exe = exec_start.split("=", 1)[1].split()[0]
    assert os.path.isabs(exe) and os.access(exe, os.X_OK)
    assert exec_start.endswith(" run")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    path = tmp_path / "voiceflow.service"
    path.write_text(unit)
    check = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_service_install_and_uninstall(tmp_path: Path, isolated_env: dict) -> None:
    cfg = tmp_path / "my.yaml"
    cfg.write_text("")
    proc = run_cli("--config", str(cfg), "service", "install", env=isolated_env)
    assert proc.returncode == 0, proc.stderr
    unit = Path(isolated_env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "voiceflow.service"
    assert unit.exists() and f"--config {cfg.resolve()} run" in unit.read_text()
    assert "systemctl --user enable --now voiceflow" in proc.stdout
    assert run_cli("service", "uninstall", env=isolated_env).returncode == 0
    assert not unit.exists()


def test_unit_text_names_the_executable() -> None:
    assert "ExecStart=/opt/vf/bin/voiceflow run" in unit_text("/opt/vf/bin/voiceflow")


# ------------------------------------------------------------------ journald
def test_journald_lines_have_priority_and_no_timestamp(
    fixtures: Fixtures, isolated_env: dict
) -> None:
    env = dict(isolated_env, JOURNAL_STREAM="8:12345")
    proc = run_cli("run", "--input", str(fixtures.path("time.wav")), "--fast", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("<")]
    assert any(line.startswith("<6>INFO: command clock.time_now") for line in lines), proc.stderr
    assert not any(line[4:8].isdigit() for line in lines)  # no leading date


# ------------------------------------------------------------------ feedback and self-hearing
def test_output_log_marks_the_agents_own_sound() -> None:
    from agent.feedback import TAIL_S, OutputLog

    out = OutputLog()
    out.add(100.0, 1.0)
    assert out.overlaps(100.5, 102.0)
    assert out.overlaps(99.0, 100.1)
    assert not out.overlaps(101.0 + TAIL_S + 0.01, 105.0)
    out.begin(1)  # speaking now, end unknown
    assert out.overlaps(time.monotonic() - 1, time.monotonic() + 1)
    out.end(1)


def test_agent_does_not_wake_on_its_own_voice(
    pulse: Pulse, fixtures: Fixtures, isolated_env: dict, tmp_path: Path
) -> None:
    """Echo says "hey computer what time is it" out loud, into the sink the agent hears."""
    from tests.conftest import speak

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    wav = speak(
        "hey computer, repeat after me, hey computer what time is it", tmp_path / "echo.wav"
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text("speech:\n  enabled: true\nfeedback:\n  tones: true\n")
    agent = Agent(agent_env(pulse, isolated_env), config=cfg)
    try:
        agent.wait_for("ready", timeout=60)
        time.sleep(1.0)
        pulse.play(wav)
        cmd = agent.wait_for("command", timeout=30)
        assert cmd["command"] == "echo"
        # the agent now speaks; what it hears of itself is transcribed, then ignored
        ignored = agent.wait_for("ignored", timeout=30)
        assert ignored["reason"] == "agent_output", agent.seen
        time.sleep(2.0)
        while not agent.events.empty():
            agent.seen.append(agent.events.get())
        own = [e["text"] for e in agent.seen if e["event"] == "ignored"]
        assert "computer" in " ".join(own).lower(), agent.seen  # it would have woken
        assert [e["command"] for e in agent.seen if e["event"] == "command"] == ["echo"]
        assert "what time" in cmd["slots"]["text"].lower(), cmd  # all of it, not cut at a pause
    finally:
        code = agent.stop()
    assert code == 0, agent.stderr
