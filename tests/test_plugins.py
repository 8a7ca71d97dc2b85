"""The plugin system: fuzzy ranking, isolation, reload, entry points, the bundled plugins."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agent import events
from agent.dispatch import Dispatcher
from agent.loader import load_plugin_file, load_plugins
from agent.matching import compile_template, match_template
from agent.testing import PluginTester
from agent.text import words
from agent.timeofday import TimeOfDay
from tests.conftest import REPO, Fixtures, StdinAgent, join, of, run_agent, run_cli

PLUGINS = REPO / "plugins"


# ------------------------------------------------------------------ matching
@pytest.mark.parametrize(
    "heard",
    [
        "set a time for five minutes",
        "set timer for 5 minutes",
        "set the timer for five minutes",
        "Set a timer for five-minutes.",
    ],
)
def test_asr_slips_still_reach_the_timer(heard: str) -> None:
    reg = load_plugins(["@bundled"], entry_points=False)
    best = reg.match(words(heard)).best
    assert best is not None
    assert best.command.name == "set_timer" and best.slots == {"minutes": 5}


def test_fuzzy_match_has_a_score_below_exact() -> None:
    t = compile_template("set a timer for {minutes:int} minute[s]")
    exact = match_template(t, words("set a timer for 5 minutes"))
    fuzzy = match_template(t, words("set a time for 5 minutes"))
    assert exact is not None and exact.score == 100
    assert fuzzy is not None and 80 <= fuzzy.score < 100


@pytest.mark.parametrize(
    "heard", ["what's the weather", "open the pod bay doors", "what is the date"]
)
def test_other_speech_does_not_reach_the_time(heard: str) -> None:
    reg = load_plugins(["@bundled"], entry_points=False)
    best = reg.match(words(heard)).best
    assert best is None or best.command.name != "time_now"


@pytest.mark.parametrize(
    ("heard", "command"),
    [
        # What tiny.en wrote for espeak-ng's commands in eval/manifest.yaml: one short word
        # changed, which the word-for-word alignment rejects.
        ("what time in it", "time_now"),
        ("list of timers", "list_timers"),
    ],
)
def test_loose_matching_catches_a_changed_short_word(heard: str, command: str) -> None:
    reg = load_plugins(["@bundled"], entry_points=False)
    assert reg.rank(words(heard)) == [] or reg.rank(words(heard))[0].score < 80
    best = reg.match(words(heard)).best
    assert best is not None and best.command.name == command and best.slots == {}


@pytest.mark.parametrize(
    "heard",
    [
        "what is it today",  # day or date? too close to call: nothing
        "the weather is lovely today",
        "open the pod bay doors",
        "what is it",
    ],
)
def test_loose_matching_stays_out_of_close_calls_and_talk(heard: str) -> None:
    reg = load_plugins(["@bundled"], entry_points=False)
    assert reg.match(words(heard)).best is None


def test_threshold_is_honoured() -> None:
    reg = load_plugins(["@bundled"], entry_points=False)
    assert reg.match(words("set a time for five minutes"), threshold=99).best is None
    assert reg.match(words("set a time for five minutes"), threshold=80).best is not None


def test_ranking_is_deterministic_and_near_ties_are_flagged(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "from agent.plugin import command\n"
        "@command('turn on the {thing}')\ndef first(ctx, thing): return 'a'\n"
    )
    (tmp_path / "b.py").write_text(
        "from agent.plugin import command\n"
        "@command('turn on the {device}')\ndef second(ctx, device): return 'b'\n"
    )
    for _ in range(3):
        ranking = load_plugins([str(tmp_path)], entry_points=False).match(
            words("turn on the lights")
        )
        assert ranking.best is not None and ranking.best.command.plugin == "a"  # load order
        assert ranking.ambiguous
        assert ranking.runner_up is not None and ranking.runner_up.command.plugin == "b"


# ------------------------------------------------------------------ isolation
FAULTY = """
import asyncio, time
from agent.plugin import command

@command("raise an error")
async def boom(ctx):
    raise RuntimeError("kaboom")

@command("hang forever")
async def hang(ctx):
    await asyncio.Event().wait()

@command("block forever")
def block(ctx):
    time.sleep(3)

@command("say hi")
async def hi(ctx):
    return "hi"
"""


async def test_raising_and_hanging_handlers_are_isolated(tmp_path: Path) -> None:
    (tmp_path / "faulty.py").write_text(FAULTY)
    reg = load_plugin_file(tmp_path / "faulty.py")
    seen: list[events.Event] = []
    logged: list[str] = []

    class Log:
        def __getattr__(self, level: str):
            return lambda msg: logged.append(f"{level}: {msg}")

    d = Dispatcher({}, 0.5, seen.append, Log())

    async def fire(text: str) -> None:
        m = reg.match(words(text)).best
        assert m is not None
        await d.dispatch(m, d.context(m, text, text, None))

    await fire("raise an error")
    await fire("hang forever")
    started = time.monotonic()
    await fire("block forever")
    assert time.monotonic() - started < 2  # the sync handler's timeout is honoured
    await fire("say hi")
    errors = [e for e in seen if isinstance(e, events.CommandError)]
    assert [(e.command, e.error.split(":")[0]) for e in errors] == [
        ("boom", "RuntimeError"),
        ("hang", "timed out after 0.5 s"),
        ("block", "timed out after 0.5 s"),
    ]
    assert any("faulty.boom raised RuntimeError: kaboom" in line for line in logged)
    replies = [e for e in seen if isinstance(e, events.Command)]
    assert [r.reply for r in replies] == ["hi"]
    await d.drain(1.0)


# ------------------------------------------------------------------ agent.testing + bundled
async def test_plugin_tester_in_three_lines() -> None:
    result = await PluginTester(PLUGINS / "timer.py").say("set a timer for five minutes")
    assert result.reply == "Timer set for 5 minutes"


async def test_timer_fires_and_can_be_listed_and_cancelled() -> None:
    t = PluginTester(PLUGINS / "timer.py")
    r = await t.say("set a tea timer for 1 second")
    assert r.command == "timer.set_named_timer" and r.slots == {"name": "tea", "duration": 1.0}
    r = await t.say("set a pasta timer for ten minutes")
    listed = (await t.say("list my timers")).reply
    assert "tea" in listed and "pasta" in listed
    await t.wait(1.3)
    assert t.said == ["tea timer done"]
    assert (await t.say("cancel the pasta timer")).reply == "Cancelled the pasta timer"
    assert (await t.say("list my timers")).reply == "There are no timers"
    await t.say("set a timer for ten minutes")
    assert (await t.say("cancel that timer")).reply == "Cancelled 1 timer"
    await t.close()


@pytest.mark.parametrize(
    "cancel", ["cancel the five minute timer", "stop the 5 minute timer", "cancel the 5 timer"]
)
async def test_a_timer_without_a_name_is_cancelled_by_its_length(cancel: str) -> None:
    t = PluginTester(PLUGINS / "timer.py")
    await t.say("set a timer for five minutes")
    await t.say("set a pasta timer for five minutes")
    assert (await t.say(cancel)).reply == "Cancelled the 5 minutes timer"
    assert (await t.say("list timers")).reply == "pasta: 5 minutes left"
    assert (await t.say("cancel the ten minute timer")).reply == "There is no ten minute timer"
    await t.close()


async def test_clock_echo_notify() -> None:
    assert (await PluginTester(PLUGINS / "clock.py").say("what time is it")).reply.startswith(
        "It is"
    )
    echo = await PluginTester(PLUGINS / "echo.py").say("repeat after me the rain in spain")
    assert echo.reply == "the rain in spain"
    n = PluginTester(PLUGINS / "notify.py")
    r = await n.say("remind me to stretch in 1 second")
    assert r.reply == "I will remind you to stretch" and r.slots["duration"] == 1.0
    await n.wait(1.5)
    await n.close()


@pytest.mark.parametrize(
    ("plugin", "said", "command", "slots"),
    [
        ("timer.py", "set a five minute timer", "set_timer", {"minutes": 5}),
        ("timer.py", "set a 90 second timer", "set_timer_duration", {"duration": 90.0}),
        ("timer.py", "how much time is left on my timer", "list_timers", {}),
        ("timer.py", "how long is left on the timers", "list_timers", {}),
        ("timer.py", "cancel that timer", "cancel_all", {}),
        (
            "notify.py",
            "remind me in ten minutes to check the oven",
            "remind",
            {
                "duration": 600.0,
                "text": "check the oven",
            },
        ),
        ("clock.py", "tell me the time please", "time_now", {}),
        ("timer.py", "cancel this pasta timer", "cancel_timer", {"name": "pasta"}),
        ("timer.py", "turn off the timer", "cancel_all", {}),
        ("timer.py", "clear all timers", "cancel_all", {}),
        ("timer.py", "delete the tea timer", "cancel_timer", {"name": "tea"}),
        ("timer.py", "are there any timers running", "list_timers", {}),
        (
            "notify.py",
            "remind me at 5 p.m. to call mum",
            "remind_at",
            {"when": TimeOfDay(17, 0), "text": "call mum"},
        ),
        (
            "notify.py",
            "remind me to take the bins out at half past seven",
            "remind_at",
            {"text": "take the bins out", "when": TimeOfDay(7, 30, twelve_hour=True)},
        ),
        (
            "notify.py",
            "remind me at five to six to call mum",
            "remind_at",
            {"when": TimeOfDay(5, 55, twelve_hour=True), "text": "call mum"},
        ),
        (
            "notify.py",
            "remind me tomorrow at nine to feed the cat",
            "remind_at",
            {"when": TimeOfDay(9, 0, twelve_hour=True, day="tomorrow"), "text": "feed the cat"},
        ),
        (
            "notify.py",
            "remind me to pay the rent at 5 p.m. on Friday",
            "remind_at",
            {"text": "pay the rent", "when": TimeOfDay(17, 0, day="friday")},
        ),
        (
            "notify.py",
            "remind me on monday morning at half past eight to call the bank",
            "remind_at",
            {"when": TimeOfDay(8, 30, day="monday"), "text": "call the bank"},
        ),
    ],
)
async def test_the_ways_people_say_it(
    plugin: str, said: str, command: str, slots: dict[str, object]
) -> None:
    """Phrasings that people use with other assistants ("set a five minute timer", "how
    much time is left on my timer"), each of which matched nothing (or a timer called
    "that") before the twenty-eighth run."""
    tester = PluginTester(PLUGINS / plugin)
    r = await tester.say(said)
    assert r.command == f"{plugin.removesuffix('.py')}.{command}" and r.slots == slots
    await tester.close()


async def test_a_reminder_at_a_time_is_set_for_that_time() -> None:
    """ "remind me at 5:42 PM to stretch" waits until then (tomorrow when it has gone), and
    says when; "remind me to look at the oven" names no time and is no reminder."""
    now = datetime.now().astimezone()
    soon = now + timedelta(minutes=3)
    tester = PluginTester(PLUGINS / "notify.py")
    r = await tester.say(f"remind me at {soon:%I:%M %p} to stretch")  # "05:42 PM"
    day = "" if soon.date() == now.date() else " tomorrow"
    assert r.reply == f"I will remind you to stretch at {soon:%H:%M}{day}"
    (pending,) = tester.dispatcher._timers  # it looks at the clock again within a minute
    assert 55 < pending.remaining <= 60
    gone = now - timedelta(minutes=3)
    r = await tester.say(f"remind me to sit down at {gone:%I:%M %p}")
    day = " tomorrow" if gone.date() == now.date() else ""
    assert r.reply == f"I will remind you to sit down at {gone:%H:%M}{day}"
    assert (await tester.say("remind me to look at the oven")).command is None
    # tiny.en's "remind" heard as "3 mind": rescoring mends it; no reminder at three
    assert (await tester.say("3 mind me to call the doctor in 20 minutes")).command is None
    await tester.close()


async def test_a_reminder_on_a_day_is_set_for_that_day() -> None:
    """ "tomorrow at five" is 17:00 tomorrow (a time on a later day is in the daytime), also
    when the day was said before "at" ("remind me to call mum tomorrow at five", where the
    text took it); "on Friday" names the day; a time today that has gone sets nothing;
    ``hour_format: 12`` says the time as the clock plugin does."""
    now = datetime.now().astimezone()
    tester = PluginTester(PLUGINS / "notify.py")
    for said in (
        "remind me tomorrow at five to call mum",
        "remind me to call mum tomorrow at five",
        "remind me to call mum at five tomorrow",
    ):
        r = await tester.say(said)
        assert r.reply == "I will remind you to call mum at 17:00 tomorrow", said
    day = now + timedelta(days=3)
    r = await tester.say(f"remind me to pay the rent at 9 a.m. on {day:%A}")
    assert r.reply == f"I will remind you to pay the rent at 09:00 on {day:%A}"
    # the time now, with its half of the day: "at 01:57" alone is 1:57 or 13:57, and before
    # one in the afternoon the second is still to come today
    said = f"{now:%I:%M} {'p.m.' if now.hour >= 12 else 'a.m.'}"
    r = await tester.say(f"remind me to water the plants on {now:%A} at {said}")
    assert r.reply.endswith(f"at {now:%H:%M} on {now:%A} next week")  # the same day: gone
    r = await tester.say("remind me at midnight today to lock up")
    assert r.reply == "00:00 today has gone already; no reminder set"
    assert len(tester.dispatcher._timers) == 5
    await tester.close()
    twelve = PluginTester(PLUGINS / "notify.py", settings={"hour_format": 12})
    r = await twelve.say("remind me tomorrow at five to call mum")
    assert r.reply == "I will remind you to call mum at 5:00 PM tomorrow"
    await twelve.close()


async def test_a_reminder_comes_at_the_time_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The event loop's clock stops while the machine sleeps; a reminder at a time of day
    looks at the wall clock again (each minute; here each 0.2 s), so it comes when the
    clock says, not after as many seconds of the loop. Here the wall clock jumps three
    minutes ahead, as over a suspend, and the reminder comes at once."""
    tester = PluginTester(PLUGINS / "notify.py")
    handler = tester.registry.match(words("remind me at 5 pm to x")).best.command.handler
    module = handler.__globals__
    monkeypatch.setitem(module, "CHECK_EVERY_S", 0.2)
    monkeypatch.setattr(module["shutil"], "which", lambda _name: None)  # say it
    now = datetime.now().astimezone()
    soon = now + timedelta(minutes=3)
    await tester.say(f"remind me at {soon:%H:%M} to stretch")
    await tester.wait(0.5)
    assert tester.said == []
    real = module["datetime"]

    class Slept(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz: object = None) -> datetime:
            return real.now(tz) + timedelta(minutes=3)  # type: ignore[arg-type]

    monkeypatch.setitem(module, "datetime", Slept)
    await tester.wait(0.5)
    assert tester.said == ["Reminder: stretch"]
    await tester.close()


SHELL_SETTINGS = {
    "commands": {"print {text}": ["printf", "%s", "{text}"], "open the pod bay": ["true"]}
}


@pytest.mark.parametrize(
    "payload",
    [
        "; rm -rf {canary}",
        "$(rm -rf {canary})",
        "`rm -rf {canary}`",
        "x\nrm -rf {canary}",
        "' \" | & > {canary}",
    ],
)
async def test_shell_slots_are_never_interpreted(tmp_path: Path, payload: str) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    value = payload.format(canary=canary)
    t = PluginTester(PLUGINS / "shell.py", settings=SHELL_SETTINGS)
    m = t.registry.match(["print", "x"]).best
    assert m is not None
    ctx = t.dispatcher.context(m, "print", "print", None)
    reply = await m.command.handler(ctx, text=value)
    assert canary.exists()
    assert reply == value.splitlines()[0]  # printf printed it back, literally


async def test_shell_runs_argument_lists_from_config() -> None:
    t = PluginTester(PLUGINS / "shell.py", settings=SHELL_SETTINGS)
    assert (await t.say("print hello world")).reply == "hello world"
    assert (await t.say("open the pod bay")).reply == "Done"


def test_shell_rejects_a_shell_string() -> None:
    reg = load_plugin_file(PLUGINS / "shell.py", {"commands": {"nuke": "rm -rf /"}})
    assert reg.commands == ()
    assert "must be a list of strings" in reg.errors[0]


# ------------------------------------------------------------------ CLI: try, plugins, entry points
def test_try_shows_command_slots_score_and_runner_up(isolated_env: dict) -> None:
    proc = run_cli("try", "set a timer for twenty five minutes", "--json", env=isolated_env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["match"]["command"] == "set_timer"
    assert out["match"]["slots"] == {"minutes": 25}
    assert out["match"]["score"] == 100.0
    assert out["runner_up"]["command"] == "set_timer_duration"
    assert "reply" not in out  # not run without --run


def test_try_run_runs_the_handler(isolated_env: dict) -> None:
    proc = run_cli("try", "hey computer, repeat after me open sesame", "--run", env=isolated_env)
    assert proc.returncode == 0, proc.stderr
    assert "echo.echo" in proc.stdout and "reply: open sesame" in proc.stdout


def test_try_wakes_as_the_configured_agent_would(tmp_path: Path, isolated_env: dict) -> None:
    """``try`` builds its wake matcher from the same ``wake`` keys as the agent: with
    phonetic matching on, "hey minecraft" wakes "hey mycroft" there too."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text("wake:\n  phrases: [hey mycroft]\n  phonetic_threshold: 75\n")
    proc = run_cli(
        "--config", str(cfg), "try", "Hey Minecraft, what time is it?", "--json", env=isolated_env
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["wake"] == "hey mycroft" and out["text"] == "what time is it"
    assert out["match"]["command"] == "time_now"


def test_entry_point_plugin_is_discovered(tmp_path: Path, isolated_env: dict) -> None:
    pkg = tmp_path / "vf_hello_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from agent.plugin import command\n"
        "@command('say hello to the world')\nasync def hello(ctx): return 'hello from a package'\n"
    )
    dist = tmp_path / "vf_hello_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vf-hello-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[voiceflow.plugins]\nhello = vf_hello_plugin\n")
    env = dict(isolated_env, PYTHONPATH=str(tmp_path))
    proc = run_cli("plugins", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    hello = [p for p in data["plugins"] if p["name"] == "hello"]
    assert hello and hello[0]["source"].startswith("entry point hello")
    proc = run_cli("try", "say hello to the world", "--run", "--json", env=env)
    assert json.loads(proc.stdout)["reply"] == "hello from a package"


def test_plugins_lists_templates_and_errors(tmp_path: Path, isolated_env: dict) -> None:
    (tmp_path / "broken.py").write_text("def broken(:\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"plugins:\n  dirs: ['@bundled', '{tmp_path}']\n")
    proc = run_cli("--config", str(cfg), "plugins", env=isolated_env)
    assert proc.returncode == 0
    assert "set a timer for {minutes:int} minute[s]" in proc.stdout
    assert "cancel_timer:  (the plugin knows what name may be)" in proc.stdout
    assert "broken.py: failed to import: SyntaxError" in proc.stdout


async def test_reminders_are_listed_and_cancelled() -> None:
    """The reminders set, listed in the order they come; one cancelled by what it is for
    (the plugin names them as known, so a misheard text is settled by the audio), the only
    one by "cancel my reminder", all at once; and one that came is gone from the list."""
    t = PluginTester(PLUGINS / "notify.py")
    assert (await t.say("what are my reminders")).reply == "There are no reminders"
    await t.say("remind me to call the doctor in twenty minutes")
    await t.say("remind me tomorrow at nine to feed the cat")
    listed = (await t.say("list my reminders")).reply
    assert listed.startswith("call the doctor at ") and "; feed the cat at 09:00 tomorrow" in listed
    assert t.known("cancel_reminder") == {"text": ["call the doctor", "feed the cat"]}
    r = await t.say("cancel my reminder")
    assert r.reply == "Which one? There are 2 reminders: to call the doctor; to feed the cat"
    r = await t.say("cancel the reminder to walk the dog")
    assert r.reply == "There is no reminder to walk the dog"
    r = await t.say("cancel the reminder to call the doctor")
    assert (r.command, r.reply) == (
        "notify.cancel_reminder",
        "Cancelled the reminder to call the doctor",
    )
    assert (await t.say("cancel the reminder")).reply == "Cancelled the reminder to feed the cat"
    await t.say("remind me to stretch in 1 second")
    await t.say("remind me to drink water in 1 minute")
    await t.wait(1.3)
    assert t.said == ["Reminder: stretch"]
    assert (await t.say("any reminders")).reply.startswith("drink water at ")
    assert (await t.say("cancel all reminders")).reply == "Cancelled 1 reminder"
    assert t.known("cancel_reminder") == {}
    for _ in range(2):  # two said alike are two, and one of them goes
        await t.say("remind me to stretch in 10 minutes")
    await t.say("cancel the reminder to stretch")
    assert (await t.say("list reminders")).reply.startswith("stretch at ")
    assert (await t.say("cancel all reminders")).reply == "Cancelled 1 reminder"
    await t.close()


async def test_a_reminder_is_cancelled_by_a_word_of_it() -> None:
    """ "cancel my dentist reminder": the one reminder whose text has every word said; with
    two it asks which, with none it says so, and the others stay."""
    t = PluginTester(PLUGINS / "notify.py")
    await t.say("remind me to go to the dentist in an hour")
    await t.say("remind me to call the doctor in twenty minutes")
    await t.say("remind me at five pm to call mum")
    r = await t.say("cancel my dentist reminder")
    assert (r.command, r.reply) == (
        "notify.cancel_reminder_of",
        "Cancelled the reminder to go to the dentist",
    )
    assert (await t.say("cancel the dentist reminder")).reply == "There is no dentist reminder"
    r = await t.say("delete the call reminder")
    assert r.reply == "Which one? There are 2 reminders: to call the doctor; to call mum"
    r = await t.say("remove the call mum reminder")
    assert r.reply == "Cancelled the reminder to call mum"
    assert (await t.say("list my reminders")).reply.startswith("call the doctor at ")
    # "the" and "that" name no reminder: those are "cancel the reminder"
    assert (await t.say("cancel that reminder")).command == "notify.cancel_the_reminder"
    await t.close()


# ------------------------------------------------------------------ known slot values
KNOWN_PLUGIN = """
from agent.plugin import command

@command("play {song} [please]", "put on {song}", known={"song": lambda s: s.get("songs", [])})
async def play(ctx, song):
    return song

@command("shout {word:int}", known={"word": lambda s: []})
async def shout(ctx, word):
    return word

@command("whisper {word}", known={"nothing": lambda s: []})
async def whisper(ctx, word):
    return word
"""


async def test_a_plugin_names_what_a_free_text_slot_may_be_now(tmp_path: Path) -> None:
    """``command(known=...)``: a function of the plugin's state gives the values a free-text
    slot may take now; one for a slot that is no free text is rejected at load, naming it,
    and one that raises is logged and names none (the command still runs)."""
    (tmp_path / "music.py").write_text(KNOWN_PLUGIN)
    reg = load_plugins([str(tmp_path)], entry_points=False)
    assert sorted(e.split(": ", 1)[1] for e in reg.errors) == [
        "shout: known: 'word' is no free-text slot",
        "whisper: known: 'nothing' is no free-text slot",
    ]
    play = next(c for c in reg.commands if c.name == "play")
    lines: list[str] = []

    class Log:
        def error(self, msg: str) -> None:
            lines.append(msg)

    d = Dispatcher({}, 5.0, lambda e: None, Log())
    assert d.known(play) == {}
    d.context(reg.match(words("play jazz")).best, "play jazz", "play jazz", None).state["songs"] = [
        "Blue in Green",
        "So What?",
        "so what",
        "",
    ]
    assert d.known(play) == {"song": ["blue in green", "so what"]}
    d.context(reg.match(words("play jazz")).best, "", "", None).state["songs"] = 5
    assert d.known(play) == {} and "known 'song': TypeError" in lines[0]
    await d.drain(1.0)


def test_the_timers_running_are_the_names_a_cancel_may_take() -> None:
    """The timer plugin's known names, and the phrases the audio is asked about when the
    words gave another ("cancel this faster timer", a pasta timer running): the template's
    nearest phrasings filled with each running timer's name; none when the name heard is
    one of them."""
    from agent.rescore import candidates, known_fills

    reg = load_plugins(["@bundled"], entry_points=False)
    names = {"name": ["pasta", "5 minute"]}
    known = {("timer", "cancel_timer"): names}
    heard = words("cancel this faster timer")
    m = reg.match(heard).best
    assert m is not None and m.slots == {"name": "faster"}
    fills = [(c.text, c.match.slots) for c in known_fills(m, heard, names)]
    assert fills[0] == ("cancel this pasta timer", {"name": "pasta"})
    assert ("cancel this 5 minute timer", {"name": "5 minute"}) in fills
    assert len(fills) == 6  # three phrasings of each
    heard = words("cancel net pasta timer")  # "net" for "that"
    said = [c.text for c in known_fills(reg.match(heard).best, heard, names)]
    assert "cancel that pasta timer" in said
    heard = words("cancel the pasta timer")
    assert known_fills(reg.match(heard).best, heard, names) == []
    assert known_fills(reg.match(heard).best, heard, {}) == []
    # a rescue's candidates: the words matched nothing ("console not faster timer")
    heard = words("console not faster timer")
    assert "cancel that pasta timer" in [c.text for c in candidates(reg, heard, known=known)]
    assert "cancel that pasta timer" not in [c.text for c in candidates(reg, heard)]


def test_a_slot_the_plugin_knows_is_mended_only_into_what_it_knows() -> None:
    """Rescoring mends free text by putting a command's opening words in place of words
    heard near them (``rescore.repairs``). For a slot whose values the plugin knows, only
    into one of them: "cancel my dentist appointment ..." (eval/held_out.yaml, a request no
    plugin serves) became "cancel my reminder to appointment ..." and the audio let it run,
    where no such reminder could be."""
    from agent.rescore import repairs

    reg = load_plugins(["@bundled"], entry_points=False)
    doctor = {("notify", "cancel_reminder"): {"text": ["call the doctor"]}}
    for known in (None, doctor):
        heard = words("cancel my dentist appointment after three days on heavy rain")
        assert not any(
            c.match.command.name == "cancel_reminder" for c in repairs(reg, heard, known=known)
        )
    heard = words("cancel the ring mindeder to call the doctor")
    assert "cancel the reminder to call the doctor" in [
        c.text for c in repairs(reg, heard, known=doctor)
    ]
    assert repairs(reg, heard) == []


async def test_the_timer_plugin_knows_its_running_timers() -> None:
    t = PluginTester(PLUGINS / "timer.py")
    await t.say("set a pasta timer for ten minutes")
    await t.say("set a timer for five minutes")
    await t.say("set a timer for ninety seconds")  # "1 minute and 30 seconds": not said so
    assert t.known("cancel_timer") == {"name": ["pasta", "5 minute"]}
    await t.say("cancel the five minute timer")
    assert t.known("cancel_timer") == {"name": ["pasta"]}
    await t.say("cancel all timers")
    assert t.known("cancel_timer") == {}
    await t.close()


# ------------------------------------------------------------------ reload
GREET_V1 = "from agent.plugin import command\n@command('greet me')\nasync def greet(ctx): return 'hello v1'\n"
GREET_V2 = "from agent.plugin import command\n@command('greet me')\nasync def greet(ctx): return 'hello v2'\n"


def test_reload_on_sighup_and_on_file_change(tmp_path: Path, isolated_env: dict) -> None:
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    greet = plugin_dir / "greet.py"
    greet.write_text(GREET_V1)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"plugins:\n  dirs: ['{plugin_dir}']\n")
    agent = StdinAgent(isolated_env, config=cfg)
    try:
        ready = agent.events(60, "ready")[-1]
        assert ready["plugins"] == ["greet"]
        # SIGHUP with a new config: a second plugin directory
        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "wave.py").write_text(
            "from agent.plugin import command\n@command('wave')\nasync def wave(ctx): return 'o/'\n"
        )
        cfg.write_text(f"plugins:\n  dirs: ['{plugin_dir}', '{extra}']\n")
        agent.proc.send_signal(signal.SIGHUP)
        r = agent.events(15, "reloaded")[-1]
        assert r["ok"] and sorted(r["plugins"]) == ["greet", "wave"]
        # a changed plugin file is picked up without a signal
        time.sleep(0.1)
        greet.write_text(GREET_V2 + "\n")
        r = agent.events(15, "reloaded")[-1]
        assert r["ok"] and r["kept"] == []
        # a broken edit keeps the old version
        greet.write_text("def broken(:\n")
        r = agent.events(15, "reloaded")[-1]
        assert r["kept"] == ["greet"] and "greet" in r["plugins"]
        assert any("SyntaxError" in e for e in r["errors"])
        # a bad config on SIGHUP keeps the running one
        cfg.write_text("plugins:\n  dirs: 5\n")
        agent.proc.send_signal(signal.SIGHUP)
        r = agent.events(15, "reloaded")[-1]
        assert r["ok"] is False and "plugins.dirs" in r["errors"][0]
    finally:
        code = agent.stop()
    assert code == 0


# ------------------------------------------------------------------ the real pipeline
def test_spoken_timer_fires_with_minutes_5(fixtures: Fixtures, isolated_env: dict) -> None:
    code, evs, err = run_agent(
        "run", "--input", str(fixtures.path("timer.wav")), "--fast", "--json", env=isolated_env
    )
    assert code == 0, err
    cmds = of(evs, "command")
    assert len(cmds) == 1, evs
    assert (cmds[0]["plugin"], cmds[0]["command"]) == ("timer", "set_timer")
    assert cmds[0]["slots"] == {"minutes": 5}
    assert cmds[0]["reply"] == "Timer set for 5 minutes"


def test_unmatched_command_gets_the_fallback(
    fixtures: Fixtures, isolated_env: dict, tmp_path: Path
) -> None:
    from tests.conftest import speak

    wav = speak("hey computer, open the pod bay doors", tmp_path / "pod.wav")
    code, evs, err = run_agent("run", "--input", str(wav), "--fast", "--json", env=isolated_env)
    assert code == 0, err
    assert of(evs, "command") == []
    assert of(evs, "no_match")
    assert [s["text"] for s in of(evs, "say")] == ["Sorry, I didn't catch that"]
    cfg = tmp_path / "silent.yaml"
    cfg.write_text("plugins:\n  fallback: silent\n")
    code, evs, err = run_agent(
        "--config", str(cfg), "run", "--input", str(wav), "--fast", "--json", env=isolated_env
    )
    assert of(evs, "no_match") and of(evs, "say") == []


def test_agent_keeps_listening_after_a_plugin_raises(
    fixtures: Fixtures, isolated_env: dict, tmp_path: Path
) -> None:
    """A plugin that raises on "what time is it" (it wins on specificity), then the next
    command in the same stream still runs."""
    plugin_dir = tmp_path / "p"
    plugin_dir.mkdir()
    (plugin_dir / "broken_clock.py").write_text(
        "from agent.plugin import command\n"
        "@command('what time is it right now or never')\nasync def never(ctx): return 'x'\n"
        "@command('what day is it today')\nasync def boom(ctx): raise ValueError('no days here')\n"
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"plugins:\n  dirs: ['@bundled', '{plugin_dir}']\n")
    both = tmp_path / "both.wav"
    join(both, fixtures.path("day.wav"), fixtures.path("time.wav"))
    code, evs, err = run_agent(
        "--config", str(cfg), "run", "--input", str(both), "--fast", "--json", env=isolated_env
    )
    assert code == 0, err
    assert [e["error"] for e in of(evs, "command_error")] == ["ValueError: no days here"]
    assert [c["command"] for c in of(evs, "command")] == ["time_now"]
    assert "broken_clock.boom raised ValueError" in err
