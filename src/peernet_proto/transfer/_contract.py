"""The engine behaviour contract as this package uses it: the engine's own
:class:`~peernet_proto.Behaviour` and :class:`~peernet_proto.EngineHost` (kept under their older
names ``BehaviourLike`` and ``EngineHostLike``)."""

from __future__ import annotations

from .._behaviour import Behaviour as BehaviourLike
from .._behaviour import EngineHost as EngineHostLike

__all__ = ["BehaviourLike", "EngineHostLike"]
