"""peernet_nat."""

__all__: list[str] = []
