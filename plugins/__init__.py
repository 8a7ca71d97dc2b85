"""VoiceFlow's bundled plugins (installed as the ``voiceflow_plugins`` package).

Each module here is loaded by file, like a user's plugin; this file only makes the
directory installable.
"""
