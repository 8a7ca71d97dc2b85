"""VoiceFlow: an offline, always-on voice-command agent."""

__version__ = "0.1.0"
