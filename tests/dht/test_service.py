"""DhtService: the handler's semantics and bounds, hostile inputs, and the client operations over
real engines on a sans-IO switch, with Go-style engines (no EXTENSIONS / KEYWORD_SEARCH bits,
no handler, FIND_VALUE misses answered "not found") in the same network."""

from __future__ import annotations

import random

import pytest

from peernet_dht import (
    FEATURE_KEYWORD_SEARCH,
    INFO_STORE_PER_REQUEST,
    QUERY_KEYWORDS_SERVED,
    VALUE_SIZE_MAX,
    DhtService,
    IndexedFile,
    KeywordEntry,
    PayloadKind,
    PublishResult,
    SearchPayload,
    SearchResult,
    StoreFullError,
    StoreResult,
    ValueResult,
    decode_search_payload,
    encode_search_payload,
    entries_for_file,
    word_hash,
)
from peernet_proto import (
    EmbeddedFile,
    EngineConfig,
    ExtensionType,
    Feature,
    InfoStoreFile,
    PeerEngine,
    PrivateKey,
    Response,
    encode_extensions,
    hash_data,
)
from peernet_proto.testing import Switch
from tests.dht.go_style import GoStyleEngine, Recorder

SEARCH = Feature.KEYWORD_SEARCH | Feature.EXTENSIONS


def own_file(key: PrivateKey, n: int, name: str, **fields: object) -> IndexedFile:
    return IndexedFile(n.to_bytes(16, "big"), key.public_key.to_bytes(), name, own=True,  # type: ignore[arg-type]
                       file_hash=hash_data(name.encode()), size=1000 + n, **fields)


class Net:
    """Engines on a switch: every other one Go-style if asked; services on the others."""

    def __init__(self, count: int, *, go_every: int = 0, seed: int = 1, **options: object) -> None:
        self.switch = Switch()
        self.engines: list[PeerEngine] = []
        self.services: dict[int, DhtService] = {}
        self.recorders: dict[int, Recorder] = {}
        self.now = 0.0
        rng = random.Random(seed)
        for i in range(count):
            endpoint = (f"11.0.{i // 250}.{i % 250 + 1}", 5000)
            key = PrivateKey(rng.getrandbits(255).to_bytes(32, "big"))
            if go_every and i % go_every == go_every - 1:
                engine: PeerEngine = GoStyleEngine(key, EngineConfig(local_discovery=False), rng=random.Random(i))
                engine.set_local_endpoints([endpoint], 0.0)
                self.switch.engines[endpoint] = engine
                self.recorders[i] = Recorder()
            else:
                engine = self.switch.add(endpoint, seed=i, key=key)
                service = DhtService(engine, **options)  # type: ignore[arg-type]
                engine.handler = service
                engine.extra_features |= FEATURE_KEYWORD_SEARCH
                self.services[i] = service
            self.engines.append(engine)
        # Everybody knows the first engine and five random others (a sparse mesh).
        for i, engine in enumerate(self.engines[1:], 1):
            for j in {0, *rng.sample(range(count), min(5, count))} - {i}:
                engine.contact(self.engines[j].public_key, [self.address(j)], 0.0)
        self.step(1.0)

    def address(self, i: int) -> tuple[str, int]:
        return (f"11.0.{i // 250}.{i % 250 + 1}", 5000)

    def step(self, until: float, dt: float = 0.05) -> None:
        while self.now < until:
            self.tick(dt)

    def tick(self, dt: float = 0.05) -> None:
        """Advance the clock; deliver everything, feeding events and timers to the services
        (which send more) until the network is quiet."""
        self.now = round(self.now + dt, 6)
        while True:
            before = self.switch.delivered
            self.switch.pump(self.now)
            handled = self._dispatch()
            if self.switch.delivered == before and not handled:
                return

    def _dispatch(self) -> bool:
        handled = False
        for i, engine in enumerate(self.engines):
            service = self.services.get(i)
            for event in engine.events():
                handled = True
                if service is not None:
                    service.handle_event(event, self.now)
                else:
                    self.recorders[i].note(event)
            if service is not None:
                deadline = service.next_deadline()
                if deadline is not None and deadline <= self.now:
                    service.handle_timer(self.now)
                    handled = True
        return handled

    def run(self, i: int, op: int, limit: float = 60.0) -> object:
        """Run until operation ``op`` of service ``i`` finishes; its result."""
        service = self.services[i]
        end = self.now + limit
        while self.now < end:
            for result in service.finished():
                if result.op == op:
                    return result
            self.tick()
        raise AssertionError("operation did not finish")


# ---- the handler alone ----------------------------------------------------------------------


def lone_service(**options: object) -> tuple[PeerEngine, DhtService]:
    engine = PeerEngine(PrivateKey.generate(), EngineConfig(local_discovery=False))
    service = DhtService(engine, **options)  # type: ignore[arg-type]
    return engine, service


def search_item(payload: SearchPayload) -> dict[int, bytes]:
    return {ExtensionType.KEYWORD_SEARCH: encode_search_payload(payload)}


def answer_payload(items: dict[int, bytes]) -> SearchPayload:
    return decode_search_payload(items[ExtensionType.KEYWORD_SEARCH])


def test_find_value_serves_own_values_then_providers_and_misses() -> None:
    _engine, service = lone_service()
    alice, bob = PrivateKey.generate().public_key, PrivateKey.generate().public_key
    op = service.store(b"my value", 0.0)
    assert service.find_value(hash_data(b"my value"), alice, 1.0) == b"my value"
    (done,) = service.finished()  # nobody to tell: finishes at once
    assert isinstance(done, StoreResult) and done.op == op and done.stored_at == ()
    key = hash_data(b"somebody else's")
    service.info_store(alice, [InfoStoreFile(key, 15, 0)], 1.0)
    assert service.find_value(key, bob, 2.0) == [alice]
    assert service.find_value(key, alice, 2.0) is None  # nobody tells a peer about itself
    assert service.find_value(b"\x05" * 32, bob, 2.0) is None  # a miss: the engine adds closest peers


def test_info_store_is_bounded_per_request_and_by_type() -> None:
    _engine, service = lone_service()
    alice = PrivateKey.generate().public_key
    records = [InfoStoreFile(i.to_bytes(32, "big"), 10, 0) for i in range(INFO_STORE_PER_REQUEST + 10)]
    records.append(InfoStoreFile(b"\x09" * 32, 10, 7))  # unknown type
    service.info_store(alice, records, 0.0)
    assert service.values.provider_count == INFO_STORE_PER_REQUEST
    service.info_store(alice, [InfoStoreFile(b"\x09" * 32, 10, 7)], 0.0)
    assert service.counters["info_store_refused"] == 1


def test_values_are_size_limited_to_what_one_response_carries() -> None:
    _engine, service = lone_service()
    with pytest.raises(StoreFullError):
        service.store(b"x" * (VALUE_SIZE_MAX + 1), 0.0)
    value = b"y" * VALUE_SIZE_MAX
    service.store(value, 0.0)
    data = service.find_value(hash_data(value), PrivateKey.generate().public_key, 1.0)
    assert data == value
    # The worst case still fits one packet: longest user agent plus an extension area.
    response = Response(user_agent="u" * 255, embedded_files=[EmbeddedFile.of(value)],
                        extension=encode_extensions({2: bytes(18)}))
    payloads = response.encode()
    assert EmbeddedFile.of(value) in Response.decode(payloads[0]).embedded_files


def test_search_items_need_the_feature_bit_and_a_valid_payload() -> None:
    _engine, service = lone_service()
    peer = PrivateKey.generate().public_key
    query = search_item(SearchPayload(PayloadKind.QUERY, keywords=(b"\x01" * 32,), max_results=10))
    assert service.extension(peer, Feature.EXTENSIONS, query, 0.0) == {}  # no KEYWORD_SEARCH bit
    assert service.extension(peer, SEARCH, {ExtensionType.KEYWORD_SEARCH: b"PNS\x01\x09junk"}, 0.0) == {}
    assert service.extension(peer, SEARCH, {7: b"unknown item"}, 0.0) == {}
    results = search_item(SearchPayload(PayloadKind.RESULTS))
    assert service.extension(peer, SEARCH, results, 0.0) == {}  # an answer is no request
    oversized = b"PNS\x01\x02\x01\x00\x05\x00" + bytes(40_000)  # over the 32 KiB payload bound
    assert service.extension(peer, SEARCH, {ExtensionType.KEYWORD_SEARCH: oversized}, 0.0) == {}
    assert service.counters == {"search_without_feature": 1, "bad_search_payloads": 2, "unexpected_search_payloads": 1}


def test_publish_accepts_only_the_publishers_own_files() -> None:
    _engine, service = lone_service()
    publisher, victim = PrivateKey.generate(), PrivateKey.generate()
    own = entries_for_file(own_file(publisher, 1, "Sunset Beach.jpg"))
    forged = entries_for_file(own_file(victim, 2, "Sunset Forged.jpg"))
    publish = search_item(SearchPayload(PayloadKind.PUBLISH, tuple(own + forged)))
    answer = service.extension(publisher.public_key, SEARCH, publish, 0.0)
    assert answer_payload(dict(answer)) == SearchPayload(PayloadKind.STORED, stored=len(own))
    assert len(service.keywords) == len(own)
    assert service.counters["foreign_entries_refused"] == len(forged)
    # Publishing again refreshes, it does not duplicate.
    service.extension(publisher.public_key, SEARCH, search_item(SearchPayload(PayloadKind.PUBLISH, tuple(own))), 1.0)
    assert len(service.keywords) == len(own)


def test_query_answers_are_bounded_by_the_request_the_service_and_the_payload() -> None:
    _engine, service = lone_service(results_per_peer=128)
    sunset = word_hash("sunset")[0]  # type: ignore[index]
    for n in range(40):  # 40 publishers, 5 files each, all with "sunset" and a 254-byte name
        publisher = PrivateKey.generate()
        entries = [KeywordEntry(sunset, bytes([n, f]) * 8, publisher.public_key.to_bytes(), bytes(32), 1, "é" * 127)
                   for f in range(5)]
        publish = search_item(SearchPayload(PayloadKind.PUBLISH, tuple(entries)))
        service.extension(publisher.public_key, SEARCH, publish, 0.0)
    asker = PrivateKey.generate().public_key

    def ask(keywords: tuple[bytes, ...], limit: int) -> SearchPayload:
        items = search_item(SearchPayload(PayloadKind.QUERY, keywords=keywords, max_results=limit))
        return answer_payload(dict(service.extension(asker, SEARCH, items, 1.0)))

    assert len(ask((sunset,), 7).entries) == 7  # what the requester asked for
    many = ask((sunset,), 60000)
    assert 64 < len(many.entries) < 128  # the 32 KiB payload cuts before the cap of 128
    assert len(encode_search_payload(many)) <= 32_768
    service.results_per_peer = 50
    assert len(ask((sunset,), 60000).entries) == 50  # the service's cap
    # Only the first keywords of an oversized query are looked at.
    padding = tuple(i.to_bytes(32, "big") for i in range(QUERY_KEYWORDS_SERVED))
    assert ask((*padding, sunset), 10).entries == ()
    assert ask((sunset,) * 128, 10).entries == ask((sunset,), 10).entries  # repeats add nothing


def test_own_published_files_are_served_and_kept_within_bounds() -> None:
    engine, service = lone_service(max_own_entries=20)
    me = engine.key
    service.publish([own_file(me, 1, "Sunset Beach.jpg")], 0.0)
    (published,) = service.finished()
    assert isinstance(published, PublishResult) and published.peers == 0 and published.entries == service.own_entries
    with pytest.raises(ValueError):
        service.publish([own_file(PrivateKey.generate(), 2, "Not mine.txt")], 0.0)
    with pytest.raises(ValueError):
        service.publish([own_file(me, n, f"Many Words In Name Number {n}.txt") for n in range(3, 10)], 0.0)
    sunset = word_hash("sunset")[0]  # type: ignore[index]
    items = search_item(SearchPayload(PayloadKind.QUERY, keywords=(sunset,), max_results=10))
    answer = answer_payload(dict(service.extension(PrivateKey.generate().public_key, SEARCH, items, 1.0)))
    assert [e.name for e in answer.entries] == ["Sunset Beach.jpg"]
    # Local search finds own files without any peer.
    service.search("sunset", 2.0)
    (found,) = service.finished()
    assert isinstance(found, SearchResult) and [h.name for h in found.hits] == ["Sunset Beach.jpg"]
    assert service.withdraw(me.public_key.to_bytes(), (1).to_bytes(16, "big")) == published.entries
    assert service.own_entries == 0


# ---- client operations over engines ---------------------------------------------------------


def test_store_and_find_value_from_every_node_with_go_peers_in_the_network() -> None:
    net = Net(40, go_every=5)
    value = b"a value published by node 3"
    stored = net.run(3, net.services[3].store(value, net.now))
    assert isinstance(stored, StoreResult) and len(stored.stored_at) >= 15
    key = hash_data(value)
    for i in net.services:
        if i == 3:
            continue
        found = net.run(i, net.services[i].get(key, net.now))
        assert isinstance(found, ValueResult) and found.value == value, i
        assert found.source == net.engines[3].public_key
    assert net.run(1, net.services[1].get(b"\x07" * 32, net.now)).value is None  # type: ignore[attr-defined]


def test_publish_and_search_from_every_python_node_while_go_peers_never_see_search_items() -> None:
    net = Net(40, go_every=5)
    owner = net.engines[2]
    files = [own_file(owner.key, 1, "Holiday Sunset 2023.jpg", folder="photos/summer", description="beach at dusk"),
             own_file(owner.key, 2, "Quarterly Report.pdf")]
    published = net.run(2, net.services[2].publish(files, net.now))
    assert isinstance(published, PublishResult) and published.stored > published.entries  # replicated
    for i in net.services:
        if i == 2:
            continue
        result = net.run(i, net.services[i].search("sunset beach", net.now))
        assert isinstance(result, SearchResult)
        assert [h.name for h in result.hits] == ["Holiday Sunset 2023.jpg"], i
        hit = result.hits[0]
        assert hit.keywords == {"sunset", "beach"} and hit.sources >= 2 and result.junk == 0
        assert hit.owner == owner.public_key.to_bytes() and hit.size == 1001
    exact = net.run(7, net.services[7].search('"Quarterly Report.pdf"', net.now))
    assert [(h.name, h.exact) for h in exact.hits] == [("Quarterly Report.pdf", True)]  # type: ignore[attr-defined]
    # Go-style engines answered lookups but were never sent a search item (nor any extension).
    assert all(r.with_extension == 0 for r in net.recorders.values())
    assert sum(len(r.announcements) for r in net.recorders.values()) > 100
    for service in net.services.values():
        assert "search_without_feature" not in service.counters


def test_find_peer_reaches_a_node_nobody_near_the_asker_knows() -> None:
    net = Net(40, go_every=5)
    for target in (13, 34):  # a Python and a Go-style node
        result = net.run(1, net.services[1].find_peer(net.engines[target].public_key.node_id, net.now))
        assert result.remote is not None and result.remote.public_key == net.engines[target].public_key  # type: ignore[attr-defined]


class LyingService(DhtService):
    """Answers every QUERY with junk: other keywords, repeats, forged owners, far too many."""

    def extension(self, requester, features, items, now):  # type: ignore[no-untyped-def]
        raw = items.get(ExtensionType.KEYWORD_SEARCH)
        if raw is None:
            return {}
        asked = decode_search_payload(raw)
        if asked.kind is not PayloadKind.QUERY:
            return super().extension(requester, features, items, now)
        keyword = asked.keywords[0]
        owner = PrivateKey.generate().public_key.to_bytes()
        junk = [KeywordEntry(b"\x66" * 32, bytes(16), owner, bytes(32), 1, "other keyword")]
        junk += [KeywordEntry(keyword, bytes(16), owner, bytes(32), 1, "repeated")] * 3
        junk += [KeywordEntry(keyword, bytes(16), b"\x02" + b"\xff" * 32, bytes(32), 1, "not a key")]
        junk += [KeywordEntry(keyword, n.to_bytes(16, "big"), owner, bytes(32), 1, f"spam {n}") for n in range(1, 120)]
        return {ExtensionType.KEYWORD_SEARCH: encode_search_payload(SearchPayload(PayloadKind.RESULTS, tuple(junk)))}


def test_a_lying_peer_cannot_flood_a_search() -> None:
    net = Net(12, results_per_peer=20)
    liars = []
    for i in (4, 5, 6):
        liar = LyingService(net.engines[i], results_per_peer=20)
        net.engines[i].handler = liar
        net.services[i] = liar
        liars.append(net.engines[i].public_key)
    net.run(2, net.services[2].publish([own_file(net.engines[2].key, 1, "Sunset.jpg")], net.now))
    result = net.run(9, net.services[9].search("sunset", net.now))
    assert isinstance(result, SearchResult)
    names = [h.name for h in result.hits]
    assert "Sunset.jpg" in names and "other keyword" not in names and "not a key" not in names
    spam = [h for h in result.hits if h.name.startswith("spam") or h.name == "repeated"]
    assert len(spam) <= 3 * 20  # each liar's share is capped
    assert result.junk >= 2 * (1 + 2 + 1 + 100)  # other keyword, repeats, bad owner, past the cap
    assert result.hits[0].name == "Sunset.jpg"  # reported by more peers than any spam


def test_expiry_and_republishing() -> None:
    net = Net(12, republish_interval=600.0, operation_timeout=20.0)
    for service in net.services.values():
        service.keywords.ttl = service.values.provider_ttl = 900.0
    publisher = net.services[1]
    value = b"republished"
    net.run(1, publisher.store(value, net.now))
    net.run(1, publisher.publish([own_file(net.engines[1].key, 1, "Sunset.jpg")], net.now))
    others = [s for i, s in net.services.items() if i != 1]

    def total(name: str) -> int:
        return sum(s.counters.get(name, 0) for s in others)

    holders = [s for s in others if len(s.keywords)]
    assert holders and total("providers_recorded") >= 5
    recorded, stored = total("providers_recorded"), total("entries_stored")
    net.step(net.now + 650.0, dt=2.0)  # one republish round of both
    assert total("providers_recorded") >= 2 * recorded and total("entries_stored") >= 2 * stored
    # A withdrawn file is no longer republished and expires where it was stored; the value stays.
    publisher.withdraw(net.engines[1].public_key.to_bytes(), (1).to_bytes(16, "big"))
    net.step(net.now + 1500.0, dt=10.0)
    assert all(len(s.keywords) == 0 for s in holders)
    assert sum(len(s.values.providers(hash_data(value), net.now)) for s in others) >= 5
    found = net.run(7, net.services[7].get(hash_data(value), net.now))
    assert found.value == value  # type: ignore[attr-defined]
