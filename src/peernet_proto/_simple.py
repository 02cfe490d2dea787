"""Messages without structure: Ping (2), Pong (3) and the debug Chat (10)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._constants import MAX_PAYLOAD_SIZE, Command
from ._errors import InvalidFieldError, MessageTooLargeError

__all__ = ["Chat", "Ping", "Pong"]


@attrs.frozen
class Ping:
    """Keep-alive request; the payload is empty (and ignored when not)."""

    COMMAND: ClassVar[Command] = Command.PING

    def encode(self) -> list[bytes]:
        return [b""]

    @classmethod
    def decode(cls, payload: bytes) -> Ping:
        return cls()


@attrs.frozen
class Pong:
    """Keep-alive answer, on the Ping's sequence."""

    COMMAND: ClassVar[Command] = Command.PONG

    def encode(self) -> list[bytes]:
        return [b""]

    @classmethod
    def decode(cls, payload: bytes) -> Pong:
        return cls()


@attrs.frozen
class Chat:
    """Debug text message."""

    COMMAND: ClassVar[Command] = Command.CHAT

    text: str

    def encode(self) -> list[bytes]:
        raw = self.text.encode("utf-8")
        if len(raw) > MAX_PAYLOAD_SIZE:
            raise MessageTooLargeError("chat text exceeds the payload limit")
        return [raw]

    @classmethod
    def decode(cls, payload: bytes) -> Chat:
        try:
            return cls(bytes(payload).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InvalidFieldError("chat: text is not valid UTF-8") from exc
