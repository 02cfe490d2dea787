"""``/console``: a websocket carrying command lines and their output as text frames (spec
webapi.md §2.10). Commands: ``help``, ``status``, ``peer list``; no debug commands."""

from __future__ import annotations

import logging
from typing import Final

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ._backend import ApiBackend

__all__ = ["console_router", "run_command"]

log = logging.getLogger(__name__)

_FRAME: Final = 4096
_LINE_LIMIT: Final = 4096
HELP: Final = "Commands:\nhelp        this text\nstatus      identity and peer count\npeer list   the peer list\n"


def run_command(backend: ApiBackend, line: str) -> str:
    """The output of one command line."""
    command = " ".join(line.split()).lower()
    if command in ("", "help", "?"):
        return HELP
    if command == "status":
        public = backend.key.public_key
        state = backend.content.chain.state
        return (f"Peer ID:  {public.hex()}\nNode ID:  {public.node_id.hex()}\nPeers:    {len(backend.peers())}\n"
                f"Chain:    height {state.height}, version {state.version}\n")
    if command == "peer list":
        lines = [f"{p.peer_id.hex()}  {p.user_agent or '-'}  height {p.blockchain_height}" for p in backend.peers()]
        return "\n".join([*lines, f"{len(lines)} peers"]) + "\n"
    return f"Unknown command {command!r}. Type help for the list.\n"


def console_router(backend: ApiBackend) -> APIRouter:
    """The console websocket."""
    router = APIRouter()

    @router.websocket("/console")
    async def console(socket: WebSocket) -> None:
        await socket.accept()
        log.info("console opened")
        await socket.send_text("Peernet console. " + HELP)
        try:
            while True:
                line = (await socket.receive_text())[:_LINE_LIMIT]
                output = run_command(backend, line)
                for start in range(0, len(output), _FRAME):
                    await socket.send_text(output[start : start + _FRAME])
        except WebSocketDisconnect:
            log.info("console closed")

    return router
