"""Errors the ``peernet`` command reports as one line (exit code 2) instead of a traceback."""

from __future__ import annotations

__all__ = ["AlreadyRunningError", "ConfigError", "NodeError"]


class NodeError(Exception):
    """An expected problem with the user's input or the data directory; the message says what
    and where (the file or option), in one line."""


class ConfigError(NodeError, ValueError):
    """A configuration value (file or command line) is malformed, of the wrong type, or unknown."""


class AlreadyRunningError(NodeError):
    """Another node holds the data directory."""
