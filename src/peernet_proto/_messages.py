"""``decode_message`` and ``encode_message``: the command byte ↔ typed message values."""

from __future__ import annotations

from typing import Protocol

from ._announcement import Announcement, LocalDiscovery
from ._constants import Command
from ._errors import DecodeError, InvalidFieldError
from ._response import Response
from ._simple import Chat, Ping, Pong
from ._transfer import GetBlock, Transfer
from ._traverse import Traverse

__all__ = ["Message", "UnknownCommandError", "decode_message", "encode_message"]

#: Any decoded message: what :func:`decode_message` returns and :func:`encode_message` takes.
Message = Announcement | LocalDiscovery | Response | Ping | Pong | Traverse | GetBlock | Transfer | Chat


class UnknownCommandError(InvalidFieldError):
    """The command byte names no message this library knows."""


class _Decoder(Protocol):
    def __call__(self, payload: bytes, /) -> Message: ...


_DECODERS: dict[int, _Decoder] = {
    Command.ANNOUNCEMENT: Announcement.decode,
    Command.RESPONSE: Response.decode,
    Command.PING: Ping.decode,
    Command.PONG: Pong.decode,
    Command.LOCAL_DISCOVERY: LocalDiscovery.decode,
    Command.TRAVERSE: Traverse.decode,
    Command.GET_BLOCK: GetBlock.decode,
    Command.TRANSFER: Transfer.decode,
    Command.CHAT: Chat.decode,
}


def decode_message(command: int, payload: bytes) -> Message:
    """Decode a payload into the message type of ``command``.

    Raises a :class:`DecodeError` subclass for any invalid input, and nothing else.
    """
    decoder = _DECODERS.get(command)
    if decoder is None:
        raise UnknownCommandError(f"unknown command {command}")
    try:
        return decoder(bytes(payload))
    except DecodeError:
        raise
    except (ValueError, IndexError, OverflowError) as exc:  # pragma: no cover - a bug, reported typed
        raise InvalidFieldError(f"command {command}: {exc}") from exc


def encode_message(message: Message) -> list[bytes]:
    """The payloads for ``message``: one per packet (Announcement and Response may need several)."""
    return message.encode()
