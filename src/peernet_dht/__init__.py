"""peernet_dht."""

__all__: list[str] = []
