"""Configuration: defaults, the documented file, and errors that name the key."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest
import yaml

from agent.config import Config, ConfigError, load_config, parse_config
from tests.conftest import REPO, run_agent


def test_repo_config_yaml_documents_every_key_with_its_default() -> None:
    text = (REPO / "config.yaml").read_text()
    assert load_config(REPO / "config.yaml") == Config()
    data = yaml.safe_load(text)
    hints = typing.get_type_hints(Config)
    for section in dataclasses.fields(Config):
        keys = {f.name for f in dataclasses.fields(hints[section.name])}
        assert set(data[section.name]) == keys, section.name


def test_every_field_has_a_docstring() -> None:
    import ast
    import inspect

    import agent.config as module

    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.endswith("Config"):
            body = node.body
            for i, stmt in enumerate(body):
                if isinstance(stmt, ast.AnnAssign):
                    nxt = body[i + 1] if i + 1 < len(body) else None
                    assert isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant), (
                        f"{node.name}.{stmt.target.id} has no docstring"  # type: ignore[union-attr]
                    )


def test_empty_file_gives_defaults() -> None:
    assert parse_config("") == Config()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "vad:\n  min_silence_ms: -5\n",
            "config.yaml: vad.min_silence_ms: must be a positive integer",
        ),
        (
            "vad:\n  min_silence_ms: fast\n",
            "config.yaml: vad.min_silence_ms: must be a positive integer",
        ),
        (
            "vad:\n  threshold: 2\n",
            "config.yaml: vad.threshold: must be a number from 0.01 to 0.99",
        ),
        ("vad:\n  thresold: 0.5\n", "config.yaml: vad.thresold: unknown key"),
        ("colour: red\n", "config.yaml: colour: unknown key"),
        (
            "wake:\n  phrases: hey computer\n",
            "config.yaml: wake.phrases: must be a list of strings",
        ),
        ("wake:\n  phrases: []\n", "config.yaml: wake.phrases: must list at least one phrase"),
        ("wake:\n  phrases: [ok, 3]\n", "config.yaml: wake.phrases[1]: must be a non-empty string"),
        ("logging:\n  level: loud\n", "config.yaml: logging.level: must be one of debug"),
        ("wake:\n  rescore: sometimes\n", "config.yaml: wake.rescore: must be one of auto"),
        ("audio:\n  denoise: yes\n", "config.yaml: audio.denoise: must be"),
        ("audio:\n  denoise_level: 5\n", "config.yaml: audio.denoise_level: must be"),
        ("audio:\n  dereverb: on\n", "config.yaml: audio.dereverb: must be"),
        (
            "audio:\n  device: [1]\n",
            "config.yaml: audio.device: must be a device index, a name, or null",
        ),
        ("audio: 5\n", "config.yaml: audio: must be a mapping"),
        (
            "vad:\n  threshold: 0.3\n  neg_threshold: 0.4\n",
            "config.yaml: vad.neg_threshold: must not exceed vad.threshold",
        ),
        ("model:\n  beam_size: true\n", "config.yaml: model.beam_size: must be a positive integer"),
        ("vad: [\n", "config.yaml: not valid YAML"),
    ],
)
def test_bad_values_name_key_and_reason(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert str(info.value).startswith(message), str(info.value)


def test_values_are_loaded_into_frozen_dataclasses() -> None:
    c = parse_config(
        "vad:\n  min_silence_ms: 300\naudio:\n  device: USB\nwake:\n  phrases: [hey jarvis]\n"
    )
    assert c.vad.min_silence_ms == 300
    assert c.audio.device == "USB"
    assert c.wake.phrases == ("hey jarvis",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.vad.min_silence_ms = 1  # type: ignore[misc]


def test_xdg_config_home_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "voiceflow").mkdir()
    (tmp_path / "voiceflow" / "config.yaml").write_text("vad:\n  min_silence_ms: 250\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config().vad.min_silence_ms == 250


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_cli_exits_2_with_the_message(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("vad:\n  min_silence_ms: -1\n")
    code, _events, err = run_agent("--config", str(bad), "run", env=isolated_env, timeout=60)
    assert code == 2
    assert f"{bad}: vad.min_silence_ms: must be a positive integer" in err
    assert "Traceback" not in err


def _every_key() -> list[tuple[str, str, object]]:
    keys = []
    for section in dataclasses.fields(Config):
        default = getattr(Config(), section.name)
        for f in dataclasses.fields(default):
            value = getattr(default, f.name)
            # A value of the wrong shape for every field: a list where a mapping is
            # wanted, a mapping everywhere else.
            bad: object = [1, 2] if isinstance(value, dict) else {"bad": [1]}
            keys.append((section.name, f.name, bad))
    return keys


@pytest.mark.parametrize(("section", "key", "bad"), _every_key())
def test_every_key_rejects_a_bad_value_by_its_path(section: str, key: str, bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump({section: {key: bad}}))
    assert str(info.value).startswith(f"config.yaml: {section}.{key}"), str(info.value)
