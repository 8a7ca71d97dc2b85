"""Wake-phrase matching and the follow-up window."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.text import clean, words
from agent.wake import WakeGate, WakeMatcher

M = WakeMatcher(["hey computer", "computer"], threshold=80, max_leading_words=2)


@pytest.mark.parametrize(
    ("text", "phrase", "command"),
    [
        ("Hey computer, what time is it?", "hey computer", "what time is it"),
        ("Hey, computer.", "hey computer", ""),
        ("hey computer's what time is it", "hey computer", "what time is it"),
        ("Hey Computer! What day is it?", "hey computer", "what day is it"),
        ("Heycomputer what time is it", "hey computer", "what time is it"),
        ("Hey, Computa, what time is it?", "hey computer", "what time is it"),
        ("Computer, what is the date?", "computer", "what is the date"),
        ("Oh, hey computer, what time is it?", "hey computer", "what time is it"),
    ],
)
def test_whisper_spellings_wake(text: str, phrase: str, command: str) -> None:
    m = M.match(words(text))
    assert m is not None, text
    assert m.phrase == phrase
    assert " ".join(m.command) == command


@pytest.mark.parametrize(
    "text",
    [
        "The weather is lovely today and I am going for a walk.",
        "What time is it?",
        "I bought a new laptop yesterday.",
        "Hey, how are you?",
        "",
        "We went to the museum and talked for a long time about the computer",
    ],
)
def test_ordinary_speech_does_not_wake(text: str) -> None:
    assert M.match(words(text)) is None


@pytest.mark.parametrize(
    "text",
    [
        "My computer crashed again last night.",
        "Turn the computer off when you go to bed.",
        "Is the computer still on in the office?",
        "A computer can add up numbers faster than any person.",  # "acomputer" too
        "I bought a new computer for my mother.",
        "She said to computer science students ...",
    ],
)
def test_a_one_word_phrase_after_my_or_the_is_a_noun(text: str) -> None:
    """Not taken from the words alone (``wake.NOUN_MARKERS``): the audio is asked, since
    Whisper also writes "hey computer" as "A computer"; ``near`` offers it."""
    assert M.match(words(text)) is None
    ws = words(text)
    if ws.index("computer") <= 2:
        assert "computer" in [n.phrase for n in M.near(ws, 40.0)]


def test_a_phrase_the_audio_is_not_asked_about_is_taken_from_the_words() -> None:
    """With ``wake.rescore: none`` nothing could settle "A computer, ..." but the words."""
    unasked = WakeMatcher(["hey computer", "computer"], unasked=["computer"])
    m = unasked.match(words("A computer, set a timer for five minutes."))
    assert m is not None and m.phrase == "computer"
    assert unasked.match(words("My computer crashed again.")) is not None


def test_the_matcher_is_built_from_the_wake_section() -> None:
    """``from_config`` takes every matching key of ``wake``; with no ``unasked`` given (a
    tool with no audio to ask) every phrase is taken from the words."""
    from agent.config import WakeConfig

    w = WakeConfig(phrases=["hey mycroft", "computer"], threshold=85.0, phonetic_threshold=75.0)
    m = WakeMatcher.from_config(w)
    assert (m.threshold, m.phonetic_threshold, m.max_leading_words) == (85.0, 75.0, 2)
    assert m.unasked == {"hey mycroft", "computer"}
    assert m.match(words("Hey Minecraft, what time is it?")) is not None
    assert WakeMatcher.from_config(w, unasked=()).match(words("My computer crashed.")) is None


@pytest.mark.parametrize(
    ("raw", "straight"),
    [
        ("Computer games are more popular than ever with children.", True),
        ("computer will it rain tomorrow", False),  # a question put to it (wake.asked)
        ("Computer can we turn the heating down?", False),
        ("Computer will train tomorrow.", True),
        ("computer what is not it?", True),  # counts once a command is found
        ("Computer, what is the date?", False),
        ("Computer. What time is it?", False),
        ("Oh computer, what time is it?", False),
        ("They computer turn off the lights.", False),  # "hey computer", most often
        ("The school computer can print in color now.", True),  # its subject
        ("Stay computer, didn't even feel long.", False),  # a pause: a name called
        ("Hey computer what time is it", False),  # two words: not a noun
    ],
)
def test_a_one_word_phrase_run_into_the_words_waits_for_a_command(raw: str, straight: bool) -> None:
    """``recognize.straight_on``: with no pause Whisper marked after it, a one-word phrase
    may be the word in a sentence; the wake is reported only if a command follows."""
    from agent.recognize import straight_on
    from agent.transcribe import Transcript

    t = Transcript(raw, clean(raw), 0.0, 0.0, 0.0, 0.0)
    decision = WakeGate(M, 5.0).feed(words(t.text), 0.0, 1.0)
    assert decision.kind == "command"
    assert straight_on(t, decision) is straight


@pytest.mark.parametrize(
    ("after", "subject"),
    [
        ("can print in color now", True),  # "The school computer can print ..."
        ("must have a fast disk and a quiet fan", True),
        ("has no idea what a joke is", True),
        ("should never be left on all weekend", True),
        ("was stolen from the car", True),
        ("cant solve a lot of timers", True),  # counts once a command is found
        ("needs an update before the meeting tomorrow", True),  # a verb in -s (in_s)
        ("crashes every time i open it", True),
        ("prices will go up next year", True),  # a plural it names
        ("whats the time", False),  # -s, but no verb (NOT_VERBS_IN_S)
        ("lets play a game", False),
        ("does it rain", False),  # a question verb: asked about a question
        ("its time", False),  # shorter than four letters
        ("cross the road", False),  # -ss
        ("can you tell me a story", False),  # a question put to it
        ("will it rain tomorrow", False),
        ("should i take an umbrella", False),
        ("is the oven still on", False),
        ("is what is the news today", False),
        ("what time is it", False),
        ("can", False),  # nothing after the verb
    ],
)
def test_a_one_word_phrase_as_the_subject_waits_for_a_command(after: str, subject: bool) -> None:
    """``wake.as_subject``: a verb straight after a one-word phrase, with no word after it
    that asks a question, makes the phrase the subject of a sentence."""
    from agent.wake import as_subject

    assert as_subject("computer", words(after)) is subject
    assert not as_subject("hey computer", words(after))  # a name called, not a noun


@pytest.mark.parametrize(
    ("raw", "after", "straight"),
    [
        ("A computer has no idea what a joke is.", "no idea what a joke is", True),
        ("A computer, has no idea what a joke is.", "no idea what a joke is", False),
        ("A computer has no idea what a joke is.", "has no idea what a joke is", True),
        ("Here computer can sit all time at.", "can sit all time at", True),
        # after "a", "the", "my" ... with no pause: a noun, whatever follows (thirtieth run)
        ("A computer for no idea what a joke is.", "for no idea what a joke is", True),
        ("the computer in which the team is too slow.", "in which the team is too slow", True),
        ("A computer, for no idea what a joke is.", "for no idea what a joke is", False),
        ("They computer turn off the lights.", "turn off the lights", False),
        ("to consider what they said on Mars.", "what they said on mars", False),  # no noun
        ("They can feel her, can you tell me a story?", "can you tell me a story", False),
    ],
)
def test_the_verb_is_looked_for_after_the_phrase_word_itself(
    raw: str, after: str, straight: bool
) -> None:
    """A phrase the audio was asked about may stand for more words than its own ("A
    computer has" checked as "computer"): the pause and the verb that make the phrase a
    sentence's subject are looked for after the phrase's own word."""
    from agent.recognize import straight_on
    from agent.transcribe import Transcript
    from agent.wake import GateDecision

    t = Transcript(raw, clean(raw), 0.0, 0.0, 0.0, 0.0)
    decision = GateDecision("command", words(after), "computer", 80.0)
    assert straight_on(t, decision) is straight


@pytest.mark.parametrize(
    ("after", "question"),
    [
        ("will it rain tomorrow", True),
        ("can we turn the heating down", True),
        ("should i take an umbrella", True),
        ("do you know what time it is", True),
        ("are you there", True),
        ("will train tomorrow", False),
        ("games are more popular than ever", False),
        ("is the best invention", False),  # a noun after it: no telling, so talk
        ("will", False),
    ],
)
def test_a_question_put_to_the_phrase(after: str, question: bool) -> None:
    """``wake.asked``: a verb and a pronoun after the phrase put a question to it."""
    from agent.wake import asked

    assert asked(words(after)) is question


def test_a_one_word_phrase_after_other_words_still_wakes() -> None:
    m = M.match(words("Oh computer, what time is it?"))
    assert m is not None and m.phrase == "computer" and m.command == words("what time is it")


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("They compute our cancel of all timers.", "cancel of all timers"),
        ("They compute her, remind me to call the doctor", "remind me to call the doctor"),
        ("compute or what time is it", "what time is it"),
        ("They compute us, what time is it?", "what time is it"),  # SPLIT_ENDS
        ("hey computer, us two", "us two"),  # the phrase was whole
        ("hey compute, order pizza", "order pizza"),  # too long to be the word's end
        ("hey computer, our timers", "our timers"),  # the phrase was whole
    ],
)
def test_the_split_off_end_of_the_phrase_is_not_the_command(text: str, command: str) -> None:
    m = M.match(words(text))
    assert m is not None and " ".join(m.command) == command


def test_follow_up_window_uses_stream_time() -> None:
    gate = WakeGate(M, follow_up_s=5.0)
    assert not gate.armed(1.0)
    d = gate.feed(words("Hey computer."), 1.0, 2.0)
    assert d.kind == "wake_only"
    assert gate.armed(4.0) and gate.armed(7.0) and not gate.armed(7.1)  # a question only
    d = gate.feed(words("What time is it?"), 4.0, 5.0)
    assert (d.kind, d.follow_up, " ".join(d.command)) == ("command", True, "what time is it")
    # used once: the next bare command is ignored
    assert gate.feed(words("What time is it?"), 6.0, 7.0).kind == "ignored"


def test_follow_up_window_expires() -> None:
    gate = WakeGate(M, follow_up_s=5.0)
    gate.feed(words("Hey computer."), 1.0, 2.0)
    assert gate.feed(words("What time is it?"), 7.5, 8.5).kind == "ignored"


def test_clean_keeps_raw_meaning() -> None:
    assert clean("  Hey computer ,  what time is it ? ") == "Hey computer, what time is it?"
    assert clean("It\u2019s  5 o'clock .") == "It's 5 o'clock."


def test_words_normalise_for_matching() -> None:
    assert words("Set a 5-minute timer, please!") == ["set", "a", "5", "minute", "timer", "please"]
    assert words("What's the time?") == ["whats", "the", "time"]
    assert words("1,000 times 2.5") == ["1000", "times", "2.5"]
    assert words("Call Dr. Patel, Mr. Li and Mrs. Cole") == [
        "call",
        "doctor",
        "patel",
        "mister",
        "li",
        "and",
        "missus",
        "cole",
    ]


# ------------------------------------------------------------------ phonetic matching
OTHER = ["hey mycroft", "hey rhasspy", "okay nabu", "hey jarvis"]


@pytest.mark.parametrize(
    ("heard", "phrase"),
    [
        # What tiny.en wrote for espeak-ng saying these phrases (en-us, en-gb, en-us+f3).
        ("Hey Minecraft, what time is it?", "hey mycroft"),
        ("Hey me Croft, what time is it?", "hey mycroft"),
        ("Hey Raspid, what time is it?", "hey rhasspy"),
        ("Okay, Naboo, what time is it?", "okay nabu"),
        ("Hey Jarvis, what time is it?", "hey jarvis"),
    ],
)
def test_phonetic_matching_wakes_on_misspelt_phrases(heard: str, phrase: str) -> None:
    phonetic = WakeMatcher(OTHER, threshold=80, phonetic_threshold=75)
    m = phonetic.match(words(heard))
    assert m is not None and m.phrase == phrase, heard
    assert " ".join(m.command) == "what time is it"


def test_spelling_alone_misses_what_phonetic_matching_catches() -> None:
    assert WakeMatcher(OTHER, threshold=80).match(words("Hey Minecraft, what time")) is None
    m = WakeMatcher(OTHER, threshold=80, phonetic_threshold=85).match(words("Hey Minecraft"))
    assert m is not None and m.phrase == "hey mycroft" and m.score == 90.9


@pytest.mark.parametrize(
    "text",
    [
        "The commuter trains were cancelled this morning.",
        "Our main competitor launched a new phone.",
        "Come here and look at this.",
        "To compute the area of a circle, multiply.",
        "Hey, can you pass me the salt?",
    ],
)
def test_phonetic_matching_leaves_near_misses_alone(text: str) -> None:
    m = WakeMatcher(["hey computer", "computer"], threshold=80, phonetic_threshold=90)
    assert m.match(words(text)) is None, text


def test_phonetic_off_by_default() -> None:
    assert WakeMatcher(OTHER).match(words("Hey Minecraft, what time is it?")) is None


def test_near_lists_the_phrases_the_opening_words_come_close_to() -> None:
    m = WakeMatcher(OTHER, threshold=80)
    assert m.match(words("Okay armu. What time is it?")) is None
    near = m.near(words("Okay armu. What time is it?"), 60)
    assert (near[0].phrase, near[0].command) == ("okay nabu", ["what", "time", "is", "it"])
    # a phrase comes with each span that is near: "okay navy move" may be "okay nabu" + "move"
    spans = {tuple(n.command[:1]) for n in m.near(words("Okay navy move what time"), 60)}
    assert {("move",), ("what",)} <= spans
    assert m.near(words("Hello and thanks for calling"), 60) == []


def test_the_cut_the_audio_needs_is_among_the_checked_spans() -> None:
    """flite's "hey computer, start a ten minute timer" in noise: "They confuse us, spark the
    10 minute timer." The phrase ends after "us", a cut that scores 58, below the 63.6 of
    "They confuse"; both are asked about (``rescore.WAKE_NEAR``)."""
    from agent.rescore import WAKE_CANDIDATES, WAKE_NEAR

    m = WakeMatcher(["hey computer", "computer"])
    heard = words("They confuse us, spark the 10 minute timer.")
    assert m.match(heard) is None
    near = m.near(heard, WAKE_NEAR)[:WAKE_CANDIDATES]
    cuts = {(n.phrase, n.command[0]) for n in near}
    assert {("hey computer", "us"), ("hey computer", "spark")} <= cuts
    # one word written as three: "computer" as "can feel her"
    heard = words("They can feel her, what time is it?")
    assert ("hey computer", "what") in {
        (n.phrase, n.command[0]) for n in m.near(heard, WAKE_NEAR)[:WAKE_CANDIDATES]
    }


def test_a_cut_two_words_longer_than_the_phrase_leaves_words_after_it() -> None:
    """Said on its own, without the wake phrase, "cancel all timers." lost only 7.5 when
    read as "Computer.": a cut of two words more than the phrase that takes every word is
    not asked about. The same words with more after them still are, as are shorter cuts
    that take them all ("Okay da vu." for "okay nabu" said alone, "Commuter.")."""
    from agent.rescore import WAKE_NEAR

    m = WakeMatcher(["hey computer", "computer"])
    assert all(n.command for n in m.near(words("Cancel all timers."), WAKE_NEAR))
    assert all(n.command for n in m.near(words("They can feel her."), WAKE_NEAR))
    heard = words("They can feel her, what time is it?")
    assert ("hey computer", "what") in {(n.phrase, n.command[0]) for n in m.near(heard, WAKE_NEAR)}
    assert ("computer", []) in [(n.phrase, n.command) for n in m.near(["commuter"], WAKE_NEAR)]
    alone = WakeMatcher(OTHER).near(words("Okay da vu."), WAKE_NEAR)
    assert ("okay nabu", []) in [(n.phrase, n.command) for n in alone]


def test_the_opening_word_of_a_phrase_alone_is_not_asked_about() -> None:
    """People say "Hey." and "Okay." to each other: a cut that is only the phrase's own
    opening words is no misspelling of it (a news clip's "Hey." lost only 6.5 read as "Hey
    mycroft."; docs/ACCURACY.md, sixteenth run). A cut that holds the rest of the phrase, or
    other words in its place, still is."""
    from agent.rescore import WAKE_NEAR

    m = WakeMatcher(OTHER)
    for said in ("Hey.", "Okay.", "Okay!"):
        assert m.near(words(said), WAKE_NEAR) == []
    assert all(len(n.command) < 4 for n in m.near(words("Hey, what time is it?"), WAKE_NEAR))
    assert ("okay nabu", ["what"]) in [
        (n.phrase, n.command[:1]) for n in m.near(words("Okay armu. What time?"), WAKE_NEAR)
    ]
    default = WakeMatcher(["hey computer", "computer"])
    assert default.near(words("Hey."), WAKE_NEAR) == []
    assert ("hey computer", []) in [(n.phrase, n.command) for n in default.near(["computer"], 40)]


def test_a_single_syllable_in_place_of_a_longer_name_is_not_asked_about() -> None:
    """Read with the phrase, "Hey man." and "Hey mom, what time is it?" lost only 7.15 and
    9.22 and woke "hey mycroft": one syllable where a name of two would be is a greeting.
    The misspellings tiny.en writes keep the name's syllables and are still asked about,
    and a longer cut of the same words still is ("Okay now move")."""
    from agent.rescore import WAKE_NEAR

    m = WakeMatcher(OTHER)
    assert m.near(words("Hey man."), WAKE_NEAR) == []
    for said, cut in [("Hey mom, what time is it?", ["hey", "mom"]), ("Hey Jim.", ["hey", "jim"])]:
        assert all(n.command != words(said)[len(cut) :] for n in m.near(words(said), WAKE_NEAR))
    for said, phrase, left in [
        ("Hey mik lot.", "hey mycroft", []),
        ("Hey, Raspy. What time is it?", "hey rhasspy", ["what"]),
        ("Okay armu. What time?", "okay nabu", ["what"]),
        ("Okay now move. What time?", "okay nabu", ["what"]),
        ("Hey Jeremy, what time is it?", "hey jarvis", ["what"]),
    ]:
        assert (phrase, left) in [(n.phrase, n.command[:1]) for n in m.near(words(said), WAKE_NEAR)]
    # "hey computer": two syllables are enough of "computer" ("Hey come and set a timer")
    default = WakeMatcher(["hey computer", "computer"])
    heard = words("Hey come and set a timer.")
    assert ("hey computer", ["set"]) in [(n.phrase, n.command[:1]) for n in default.near(heard, 40)]


def test_syllables_tell_a_one_syllable_word_from_a_name() -> None:
    from agent.text import syllables

    for word, n in [("man", 1), ("move", 1), ("mycroft", 2), ("middle", 2), ("armu", 2)]:
        assert syllables([word]) == n, word
    assert syllables(["computer"]) == 3
    assert syllables(["mik", "lot"]) == syllables(["5", "lot"]) == 2
    assert syllables([]) == 0


def test_a_checked_phrase_is_accepted_like_a_matched_one() -> None:
    from agent.wake import WakeMatch

    gate = WakeGate(WakeMatcher(OTHER), follow_up_s=5.0)
    d = gate.accept(WakeMatch("okay nabu", 70.0, ["what", "time", "is", "it"]), end_s=2.0)
    assert (d.kind, d.phrase, d.command) == ("command", "okay nabu", ["what", "time", "is", "it"])
    d = gate.accept(WakeMatch("okay nabu", 70.0, []), end_s=2.0)
    assert d.kind == "wake_only"
    follow = gate.feed(words("what time is it"), 4.0, 5.0)  # within the window
    assert follow.kind == "command" and follow.follow_up


@pytest.mark.parametrize(
    ("raw", "span", "said"),
    [
        ("Okay, now move. What time is it?", 3, "Okay nabu, What time is it?"),
        ("Okay armu. What time is it?", 2, "Okay nabu, What time is it?"),
        ("Okay armu.", 2, "Okay nabu."),
        ("Okay-armu what", 1, None),  # one token of two words: cannot split after the first
    ],
)
def test_the_phrase_is_put_in_place_of_the_words(raw: str, span: int, said: str | None) -> None:
    from agent.rescore import with_phrase

    assert with_phrase(raw, "okay nabu", span) == said


def test_a_transcript_is_cut_after_its_wake_words() -> None:
    from agent.rescore import split_words

    assert split_words("A computer, cancel all time in.", 2) == (
        "A computer,",
        "cancel all time in.",
    )
    assert split_words("what time is it", 0) == ("", "what time is it")
    assert split_words("Hey, computer.", 2) == ("Hey, computer.", "")
    assert split_words("Okay-armu what", 1) is None


def test_talk_about_a_computer_through_the_real_pipeline(
    tmp_path: Path, isolated_env: dict, tiny: object
) -> None:
    """espeak-ng says "my computer crashed again last night ..." clean: tiny.en writes it
    word for word, and "computer" after "my" is a noun, not the phrase; the audio, asked,
    does not hear "computer" said to the agent. flite's rms says "hey computer, set a timer
    for five minutes": the timer is set. Where this was measured tiny.en wrote "A computer
    set a timer for five minutes." (on a CPU with AVX-512, "Hey computer set a timer ...");
    that reading, made on any CPU: the words alone no longer wake the agent there, but the
    audio says "hey computer"; with the audio check off (``wake.rescore: none``) the words
    decide, as before."""
    from agent.bench import with_
    from agent.clips import synthesize
    from agent.config import Config
    from agent.manifest import Clip, Say
    from tests.conftest import heard_as, of, run_file

    talk = tmp_path / "talk" / "talk.wav"
    talk.parent.mkdir()
    said = "my computer crashed again last night and I lost the whole report"
    synthesize(Clip(path=talk, say=Say(said, "en-us", 160)))
    evs = run_file(talk, "plugins:\n  fallback: sorry\n", isolated_env)
    (heard,) = of(evs, "transcript")
    assert heard["text"].lower().startswith("my computer")
    assert of(evs, "wake") == [] and of(evs, "say") == []

    cmd = tmp_path / "cmd" / "cmd.wav"
    cmd.parent.mkdir()
    said = "hey computer, set a timer for five minutes"
    synthesize(Clip(path=cmd, say=Say(said, "rms", 140, None, engine="flite")))
    right = [("set_timer", {"minutes": 5})]
    evs = run_file(cmd, "plugins:\n  fallback: silent\n", isolated_env)
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == right
    misheard = "A computer set a timer for five minutes."
    evs = heard_as(cmd, misheard, tiny)
    assert [c["loss"] <= c["allowed"] for c in of(evs, "wake_checked")] == [True]
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == right
    # without the audio check, the words alone decide, as before
    evs = heard_as(cmd, misheard, tiny, with_(Config(), "wake", rescore="none"))
    assert of(evs, "wake_checked") == []
    assert [(c["command"], c["slots"]) for c in of(evs, "command")] == right
