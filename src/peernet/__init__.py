"""peernet."""

__all__: list[str] = []
