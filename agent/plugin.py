"""The plugin author's API: the ``@command`` decorator and the ``Context`` a handler receives.

    from agent.plugin import command, Context

    @command("what time is it", "what's the time")
    async def time_now(ctx: Context) -> str:
        return "It is 10:42"

The decorator only attaches metadata to the function; the loader finds decorated
functions in a plugin module, compiles their templates once, and the dispatcher calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

ATTR = "__voiceflow_commands__"
"""Attribute under which ``@command`` stores its ``CommandSpec`` tuple."""

F = TypeVar("F", bound=Callable[..., Any])

Known = Callable[[dict[str, Any]], Iterable[str]]
"""What a free-text slot may be now, from the plugin's ``ctx.state``: the names of the
timers running, say (``command(known=...)``)."""


@dataclass(frozen=True)
class CommandSpec:
    templates: tuple[str, ...]
    """Phrase templates: words, ``{slot}``, ``{slot:int}``, ``[optional]``, ``(a|b)``."""
    regex: str | None = None
    """A regular expression over the normalised command text; named groups become slots."""
    known: tuple[tuple[str, Known], ...] = ()
    """(slot, function of the plugin's state giving the values the slot may take now)."""


def command(
    *templates: str, regex: str | None = None, known: Mapping[str, Known] | None = None
) -> Callable[[F], F]:
    """Mark a function as a command handler for the given phrase templates (or ``regex``).

    ``known`` maps a free-text slot to a function of the plugin's ``ctx.state`` that gives
    the values it may take at the moment (``{"name": lambda state: state["timers"]}``).
    When the words heard give that slot another value, the audio is asked whether it said
    one of these instead: "cancel this faster timer" with a pasta timer running. The
    function runs on the agent's event loop for each command heard: keep it cheap (no I/O);
    one that raises is logged and names nothing."""
    if not templates and regex is None:
        raise TypeError("@command needs at least one template or regex=")
    for t in templates:
        if not isinstance(t, str):
            raise TypeError(f"@command templates must be strings, got {t!r}")
    for slot, fn in (known or {}).items():
        if not isinstance(slot, str) or not callable(fn):
            raise TypeError(f"@command known= maps slot names to functions, got {slot!r}: {fn!r}")

    def attach(fn: F) -> F:
        specs = getattr(fn, ATTR, ())
        spec = CommandSpec(tuple(templates), regex, tuple((known or {}).items()))
        setattr(fn, ATTR, (*specs, spec))
        return fn

    return attach


@dataclass(frozen=True)
class ProvidedCommand:
    """A command a plugin builds from its settings, returned by its module-level
    ``provide_commands(settings)`` (the shell plugin maps configured phrases this way)."""

    name: str
    templates: tuple[str, ...]
    handler: Callable[..., Any]


@dataclass(frozen=True)
class Timings:
    start_s: float
    """Utterance start, in seconds of the audio stream."""
    end_s: float
    """End of speech, in seconds of the audio stream."""
    speech_end_at: float
    """``time.monotonic()`` when the last voiced audio was captured."""
    asr_ms: float
    """Time the transcription took."""


@dataclass
class Context:
    """Everything a handler gets besides its slots."""

    text: str
    """The command text after the wake phrase, normalised (lower case, no punctuation)."""
    raw: str
    """Whisper's transcript of the whole utterance, as it came."""
    slots: dict[str, Any]
    """Slot values by name, already converted (``{minutes:int}`` gives an int)."""
    plugin: str
    """The plugin's name (its file name without ``.py``)."""
    command: str
    """The handler's name."""
    settings: Mapping[str, Any]
    """This plugin's section of ``plugins.settings`` in the config."""
    timings: Timings | None
    """When the utterance happened; None when run from ``voiceflow try``."""
    log: Any
    """A logger: ``ctx.log.info("...")``, also from a plain ``def`` handler."""
    state: dict[str, Any] = field(default_factory=dict)
    """This plugin's own dict, kept for as long as the agent runs (e.g. its timers)."""
    _say: Callable[[str], None] = field(repr=False, default=print)
    _later: Callable[..., Later] | None = field(repr=False, default=None)

    def say(self, text: str) -> None:
        """Tell the user something now: printed, logged, spoken when speech is enabled."""
        self._say(text)

    def later(self, seconds: float, fn: Callable[..., Any], *args: Any) -> Later:
        """Call ``fn(*args)`` (sync or async) after ``seconds``; other commands do not
        disturb it. Errors in it are logged and reported like a handler's."""
        if self._later is None:
            raise RuntimeError("ctx.later is not available outside the agent")
        return self._later(seconds, fn, *args)


class Later:
    """A pending ``ctx.later`` call."""

    def __init__(
        self,
        handle: Any,
        when: float,
        clock: Callable[[], float],
        forget: Callable[[Later], None],
    ) -> None:
        self._handle = handle
        self.when = when
        """Loop time at which it fires."""
        self._clock = clock
        self._forget = forget

    @property
    def remaining(self) -> float:
        """Seconds until it fires (0 when due or past)."""
        return max(0.0, self.when - self._clock())

    @property
    def cancelled(self) -> bool:
        return bool(self._handle.cancelled())

    def cancel(self) -> None:
        self._handle.cancel()
        self._forget(self)
