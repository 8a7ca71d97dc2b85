"""Templates, numbers and the plugin loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.loader import load_plugins
from agent.matching import TemplateError, compile_regex, compile_template, match_template
from agent.numbers import parse_int
from agent.text import words


@pytest.mark.parametrize(
    ("spoken", "value"),
    [
        ("5", 5),
        ("five", 5),
        ("twenty five", 25),
        ("a hundred and two", 102),
        ("one thousand two hundred", 1200),
        ("1 thousand", 1000),
        ("ninety", 90),
        ("zero", 0),
    ],
)
def test_parse_int(spoken: str, value: int) -> None:
    assert parse_int(spoken.split()) == value


@pytest.mark.parametrize("spoken", ["two five", "twenty twenty", "a", "and", "blue", "five blue"])
def test_parse_int_rejects(spoken: str) -> None:
    assert parse_int(spoken.split()) is None


def m(template: str, text: str) -> dict | None:
    r = match_template(compile_template(template), words(text))
    return None if r is None else r.slots


def test_literal_optional_alternatives() -> None:
    t = "(what is|whats) the time [now|please]"
    assert m(t, "What's the time?") == {}
    assert m(t, "what is the time now") == {}
    assert m(t, "what is the time please") == {}
    assert m(t, "what is the date") is None


def test_int_slot_and_optional_suffix() -> None:
    t = "set a timer for {minutes:int} minute[s]"
    assert m(t, "Set a timer for 5 minutes.") == {"minutes": 5}
    assert m(t, "set a timer for twenty five minutes") == {"minutes": 25}
    assert m(t, "set a timer for one minute") == {"minutes": 1}
    assert m(t, "set a timer for many minutes") is None


def test_string_slot() -> None:
    assert m("(say|repeat) {text}", "Say hello there!") == {"text": "hello there"}


def test_a_time_slot_takes_all_it_can_but_ends_in_no_link() -> None:
    """A time slot's words run on greedily ("five to six" is 5:55, not 5:00), but no time
    ends in "to", "past", "at" or "on": "at 25 past 2 to to call" ("two" written "to" and
    then said again) is 2:25, where the slot once took "25 past 2 to", no time, and
    nothing matched (eval/times_fourth.yaml)."""
    t = "remind me at {when:time} to {text}"
    assert str(m(t, "remind me at five to six to call mum")["when"]) == "5:55 am or pm"
    slots = m(t, "remind me at 25 past 2 to to call the school")
    assert (str(slots["when"]), slots["text"]) == ("2:25 am or pm", "to call the school")
    assert match_template(compile_template(t), words("remind me at 25 past to call tom")) is None


@pytest.mark.parametrize(
    ("text", "command", "slots"),
    [
        ("set to timer for 5 minutes", None, None),  # "set a timer", misheard: no name "to"
        ("cancel of all timers", None, None),
        ("she had time for five minutes", None, None),  # no timer named "had"
        ("cancel that timer", "cancel_all", {}),  # "that" points; it names no timer
        ("stop this timer", "cancel_all", {}),
        ("cancel that tea timer", "cancel_timer", {"name": "tea"}),
        ("say that", None, None),  # nothing to say back
        ("set a tea timer for 5 minutes", "set_named_timer", {"name": "tea", "duration": 300}),
        ("cancel the egg timer", "cancel_timer", {"name": "egg"}),
        ("repeat after me to be or not to be", "echo", {"text": "to be or not to be"}),
    ],
)
def test_a_text_slot_is_not_only_function_words(
    text: str, command: str | None, slots: dict | None
) -> None:
    reg = load_plugins(["@bundled"], entry_points=False)
    best = reg.match(words(text), loose=False).best
    assert (best and best.command.name) == command
    assert (best and best.slots) == slots


def test_regex_command() -> None:
    r = match_template(compile_regex(r"play (?P<song>.+)"), words("Play Yellow Submarine"))
    assert r is not None and r.slots == {"song": "yellow submarine"}


@pytest.mark.parametrize(
    "bad", ["", "set {minutes:float}", "set {x} and {x}", "open (|x)", "set {bad", "( )"]
)
def test_bad_templates_are_rejected(bad: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(bad)


def test_bundled_clock_plugin_loads_and_matches() -> None:
    reg = load_plugins(["@bundled"])
    assert "clock" in reg.plugins
    assert reg.errors == ()
    for text, name in [
        ("what time is it", "time_now"),
        ("what's the time", "time_now"),
        ("what day is it today", "day_of_week"),
        ("what is the date", "date_today"),
    ]:
        match = reg.match(words(text)).best
        assert match is not None and match.command.name == name, text


def test_bad_plugins_are_reported_and_others_load(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(
        "from agent.plugin import command\n"
        "@command('say hello')\n"
        "def hello(ctx):\n    return 'hello'\n"
    )
    (tmp_path / "broken.py").write_text("import nonexistent_module_xyz\n")
    (tmp_path / "badtemplate.py").write_text(
        "from agent.plugin import command\n"
        "\n"
        "@command('set {minutes:float}')\n"
        "def f(ctx, minutes):\n    return 'x'\n"
    )
    (tmp_path / "badsig.py").write_text(
        "from agent.plugin import command\n"
        "@command('set a timer for {minutes:int} minutes')\n"
        "def f(ctx, seconds):\n    return 'x'\n"
    )
    reg = load_plugins([str(tmp_path)])
    assert reg.plugins == ("good",)
    errors = "\n".join(reg.errors)
    assert "broken.py: failed to import: ModuleNotFoundError" in errors
    assert (
        "badtemplate.py:3: f: template 'set {minutes:float}': unknown slot type 'float'" in errors
    )
    assert "badsig.py:2: f: template" in errors and "minutes" in errors
    assert reg.match(words("say hello")).best is not None


def test_most_specific_command_wins(tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text(
        "from agent.plugin import command\n"
        "@command('set {thing}')\n"
        "def generic(ctx, thing):\n    return thing\n"
        "@command('set a timer for {minutes:int} minutes')\n"
        "def timer(ctx, minutes):\n    return minutes\n"
    )
    reg = load_plugins([str(tmp_path)])
    match = reg.match(words("set a timer for 5 minutes")).best
    assert match is not None and match.command.name == "timer"
    assert reg.match(words("set the table")).best.command.name == "generic"


def test_each_variant_knows_how_it_is_said() -> None:
    t = compile_template("(what is|whats) the date [today]")
    assert [v.spoken for v in t.variants] == [
        "what is the date today",
        "what is the date",
        "whats the date today",
        "whats the date",
    ]
    assert compile_template("cancel [the|my] {name} timer").variants[0].spoken == (
        "cancel the {name} timer"
    )


@pytest.mark.parametrize(
    ("template", "text", "slots"),
    [
        # a slip ("reminds") sends the match down the fuzzy path, which aligns the words
        # without their articles; the slot still gets the words as heard
        (
            "remind me to {text} in {duration:duration}",
            "reminds me to call the doctor in 20 minutes",
            {"text": "call the doctor", "duration": 1200.0},
        ),
        (
            "repeat after me {text}",
            "repeat after meet the rain in spain",
            {"text": "the rain in spain"},
        ),
        # an article the template itself says is not the slot's
        (
            "set a {name} timer for {duration:duration}",
            "sat a pasta timer for 5 minutes",
            {"name": "pasta", "duration": 300.0},
        ),
        ("cancel [the|my] {name} timer", "cancel the kitchen timers", {"name": "kitchen"}),
    ],
)
def test_fuzzy_slots_keep_their_articles(template: str, text: str, slots: dict) -> None:
    r = match_template(compile_template(template), words(text))
    assert r is not None and r.score < 100
    assert r.slots == slots


def test_a_close_match_of_a_longer_template_beats_a_looser_exact_one() -> None:
    reg = load_plugins(["@bundled"], entry_points=False)
    best = reg.match(words("repeat after meet the rain in spain")).best
    assert best is not None and best.template == "repeat after me {text}"
    assert best.slots == {"text": "the rain in spain"}
    best = reg.match(words("repeat the rain")).best  # nothing close: the exact one
    assert best is not None and best.template == "repeat {text}"


def test_loose_matching_can_be_left_to_rescoring() -> None:
    reg = load_plugins(["@bundled"], entry_points=False)
    heard = words("what time in it")
    loose = reg.match(heard).best
    assert loose is not None and loose.command.name == "time_now"
    assert reg.match(heard, loose=False).best is None


@pytest.mark.parametrize(
    ("template", "open_end"),
    [
        ("repeat after me {text}", True),
        ("notify me [that] {text}", True),
        ("say {text} [please]", True),
        ("say {text} [please] now", False),
        ("remind me to {text} in {duration:duration}", True),
        ("cancel [the|my] {name} timer", False),
        ("set a timer for {minutes:int} minute[s]", False),
        ("what time is it", False),
    ],
)
def test_a_template_ending_in_a_slot_is_open_ended(template: str, open_end: bool) -> None:
    assert compile_template(template).open_end is open_end


def test_a_regex_with_groups_is_open_ended() -> None:
    assert compile_regex(r"lights (?P<state>on|off)").open_end
    assert not compile_regex(r"lights off").open_end
