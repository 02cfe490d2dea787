"""The DHT value store: what this node keeps and serves for INFO_STORE and FIND_VALUE.

What is stored and served:

* **Values**: data this node published itself (``put``), keyed by BLAKE3(data). The wire has
  no way to push data to us (INFO_STORE carries key, size and type only), so nothing a remote
  peer sends ends up here. Values are at most ``max_value_size`` bytes, by default
  :data:`VALUE_SIZE_MAX` (65 091): the largest value that fits embedded in one Response whatever
  the requester's user agent (the reference's :data:`EMBEDDED_VALUE_MAX`, 65 349, does not
  really fit). A FIND_VALUE for a held value is answered with the data embedded; a larger value
  (only with a raised ``max_value_size``) or an empty one is answered with a "storing" record for
  ourselves, as the reference does. Values expire after ``ttl`` unless put again, and are due for
  republishing (INFO_STORE to the k closest peers of the key) every ``republish_interval``.
* **Provider records**: an INFO_STORE entry {key, size, type} from peer P means "P stores the
  value K". We keep (K → P) with an expiry and answer FIND_VALUE with "storing" records for those
  providers. The reference ignores INFO_STORE; this is the intent described in its TODO.
* A miss returns nothing from the store; the responder then adds the closest peers from the
  routing table (the reference returns only "not found").

Bounded: ``max_values`` / ``max_bytes`` for values (a full store refuses new values),
``max_providers`` in total and ``max_providers_per_key`` per key (the oldest record goes first).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, Generic

import attrs

from peernet_proto import LocalProtocolError, hash_data

from ._contact import C
from ._distance import check_id

__all__ = ["EMBEDDED_VALUE_MAX", "VALUE_SIZE_MAX", "Embedded", "Miss", "Providers", "StoreFullError", "ValueStore"]

EMBEDDED_VALUE_MAX: Final = 65_349  # the reference's EmbeddedFileSizeMax (spec dht.md §2)
# What really fits: payload 65 410 − header 24 − user agent 255 − counts 6 − file header 34.
VALUE_SIZE_MAX: Final = 65_091


class StoreFullError(LocalProtocolError):
    """The value store's count or byte budget would be exceeded."""


@attrs.frozen
class Embedded:
    """A FIND_VALUE hit: the value's bytes themselves."""
    data: bytes


@attrs.frozen
class Providers(Generic[C]):
    """A FIND_VALUE hit by reference: peers that store the value, and whether we do."""
    peers: tuple[C, ...]  # other peers that announced the value (INFO_STORE)
    self_is_provider: bool = False


@attrs.frozen
class Miss:
    """A FIND_VALUE miss: neither the value nor a provider is known."""
    pass


class _Value:
    __slots__ = ("data", "expires", "republish_at")

    def __init__(self, data: bytes, expires: float, republish_at: float) -> None:
        self.data, self.expires, self.republish_at = data, expires, republish_at


class ValueStore(Generic[C]):
    """The bounded store of DHT values and of provider announcements (INFO_STORE), with expiry.

    Bounds: ``max_values`` values of at most ``max_value_size`` bytes, ``max_bytes`` in total,
    ``max_providers`` provider entries; values expire after ``ttl`` seconds and are republished
    every ``republish_interval`` seconds.
    """
    def __init__(
        self,
        *,
        max_values: int = 4096,
        max_bytes: int = 64 * 2**20,
        max_value_size: int = VALUE_SIZE_MAX,
        ttl: float = 24 * 3600.0,
        republish_interval: float = 3600.0,
        max_providers: int = 65_536,
        max_providers_per_key: int = 20,
        provider_ttl: float = 24 * 3600.0,
    ) -> None:
        self.max_values, self.max_bytes, self.max_value_size = max_values, max_bytes, max_value_size
        self.ttl, self.republish_interval = ttl, republish_interval
        self.max_providers, self.max_providers_per_key = max_providers, max_providers_per_key
        self.provider_ttl = provider_ttl
        self._values: dict[bytes, _Value] = {}
        self._bytes = 0
        # key -> provider node ID -> (provider, size, kind, expires), oldest first
        self._providers: dict[bytes, OrderedDict[bytes, tuple[C, int, int, float]]] = {}
        self._provider_count = 0

    # -- values --------------------------------------------------------------------------------

    def put(self, data: bytes, now: float) -> bytes:
        """Store our own value; returns its key. Putting it again refreshes its expiry."""
        if len(data) > self.max_value_size:
            raise StoreFullError(f"value of {len(data)} bytes exceeds {self.max_value_size}")
        key = hash_data(data)
        if key not in self._values:
            if len(self._values) >= self.max_values or self._bytes + len(data) > self.max_bytes:
                raise StoreFullError("value store is full")
            self._bytes += len(data)
        self._values[key] = _Value(bytes(data), now + self.ttl, now + self.republish_interval)
        return key

    def get(self, key: bytes, now: float) -> bytes | None:
        value = self._values.get(check_id(key))
        return value.data if value is not None and value.expires > now else None

    def delete(self, key: bytes) -> bool:
        value = self._values.pop(key, None)
        if value is not None:
            self._bytes -= len(value.data)
        return value is not None

    def due_for_republish(self, now: float) -> list[bytes]:
        """Keys whose INFO_STORE to the k closest peers should be sent again now."""
        return [key for key, v in self._values.items() if v.republish_at <= now < v.expires]

    def mark_republished(self, key: bytes, now: float) -> None:
        value = self._values.get(key)
        if value is not None:
            value.republish_at = now + self.republish_interval

    # -- provider records (INFO_STORE) ---------------------------------------------------------

    def add_provider(self, key: bytes, provider: C, size: int, kind: int, now: float) -> bool:
        """Record an INFO_STORE entry from ``provider``. False if a bound refused it."""
        records = self._providers.setdefault(check_id(key), OrderedDict())
        node_id = provider.node_id
        if node_id in records:
            del records[node_id]
            self._provider_count -= 1
        elif len(records) >= self.max_providers_per_key:
            records.popitem(last=False)
            self._provider_count -= 1
        if self._provider_count >= self.max_providers:
            if not records:
                del self._providers[key]
            return False
        records[node_id] = (provider, size, kind, now + self.provider_ttl)
        self._provider_count += 1
        return True

    def providers(self, key: bytes, now: float) -> list[C]:
        records = self._providers.get(check_id(key), OrderedDict())
        return [provider for provider, _, _, expires in records.values() if expires > now]

    # -- answering and housekeeping ------------------------------------------------------------

    def answer(self, key: bytes, now: float) -> Embedded | Providers[C] | Miss:
        """The store's part of a FIND_VALUE answer for ``key``."""
        data = self.get(key, now)
        if data is not None and 0 < len(data) <= VALUE_SIZE_MAX:
            return Embedded(data)
        others = tuple(self.providers(key, now))
        if data is not None or others:
            return Providers(others, self_is_provider=data is not None)
        return Miss()

    def expire(self, now: float) -> int:
        """Drop expired values and provider records; returns how many went."""
        gone = [key for key, v in self._values.items() if v.expires <= now]
        for key in gone:
            self.delete(key)
        dropped = len(gone)
        for key in list(self._providers):
            records = self._providers[key]
            for node_id in [n for n, record in records.items() if record[3] <= now]:
                del records[node_id]
                self._provider_count -= 1
                dropped += 1
            if not records:
                del self._providers[key]
        return dropped

    def __len__(self) -> int:
        return len(self._values)

    @property
    def stored_bytes(self) -> int:
        return self._bytes

    @property
    def provider_count(self) -> int:
        return self._provider_count
