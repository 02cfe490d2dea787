"""peernet_chain."""

__all__: list[str] = []
