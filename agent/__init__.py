"""VoiceFlow: an offline, always-on voice-command agent."""

import os

# Nothing leaves the machine. ONNX Runtime (which runs the Silero VAD) has shipped
# telemetry on Linux since 1.29: a persistent device id under ~/.cache/Microsoft, an
# offline event cache, and uploads. Its documented opt-out must be set before the runtime
# initialises, so it is set here, when the package is first imported. A user who sets
# ORT_DISABLE_TELEMETRY themselves keeps their value.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
