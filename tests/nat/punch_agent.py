"""Real peer engines on UDP inside a NAT-lab namespace (``ip netns exec``), for hole punching and
reachability. Every line on stdout is one JSON object with an ``event`` and ``t``
(``time.monotonic()``, the same clock in every namespace).

    punch_agent.py relay --listen IP:PORT [--key HEX]
        a plain public node; prints "peer" per new peer and "announcement" per Announcement
        received (the features and ports a peer reports, as this relay sees them)
    punch_agent.py node --listen IP:PORT --root KEY@IP:PORT... [--count N] [--key HEX]
                        [--monitor] [--map] [--wait-mapped]
        N engines on ports PORT.. PORT+N-1 that bootstrap from the root peers and stay up
        (the punch targets); --monitor runs peernet's ReachabilityMonitor, --map also keeps a
        port mapping (UPnP/NAT-PMP/PCP); "ready" lists their keys once all have bootstrapped
        (with --wait-mapped: once each has a mapping and has announced it)
    punch_agent.py initiator --listen IP:PORT --relay KEY@IP:PORT --target KEY... [--trials N]
                             [--timeout S] [--direct] [--concurrent]
        per trial a fresh key on port PORT+trial: introduce itself to the relay (without
        following its answer: that would contact the target directly), ask the relay for the
        target's record (FIND_PEER), then request the target at the record's address through
        the relay (hole punching; --direct: without it); prints one "punch" line per trial
    punch_agent.py lookup --listen IP:PORT --relay KEY@IP:PORT --target KEY
        prints the relay's record of the target ("record")

Keys are secp256k1 keys in hex (private for --key, public elsewhere). The functions below also
run on the in-memory network (tests/nat/test_memory_punch.py).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

import trio

from peernet import ReachabilityMonitor
from peernet_nat import ReachabilityChanged, ReachabilityClass
from peernet_proto import (
    AddressObserved,
    Announcement,
    DatagramTransport,
    Endpoint,
    EngineConfig,
    EngineEvent,
    EngineLimits,
    EngineRunner,
    MessageReceived,
    PeerConnected,
    PeerEngine,
    PeerRecord,
    PongReceived,
    PrivateKey,
    PublicKey,
    RequestTimedOut,
    ResponseReceived,
    RootPeer,
    UdpTransport,
    record_endpoints,
)

USER_AGENT = "punch-agent/1"


def emit(kind: str, **fields: Any) -> None:
    print(json.dumps({"event": kind, "t": time.monotonic(), **fields}), flush=True)


def endpoint(text: str) -> Endpoint:
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def peer_address(text: str) -> RootPeer:
    """``PUBLICKEYHEX@IP:PORT``."""
    key, _, address = text.partition("@")
    return RootPeer(PublicKey.from_hex(key), (endpoint(address),))


class Events:
    """Engine events as they happen, with waiting for one that matches."""

    def __init__(self) -> None:
        self.log: list[EngineEvent] = []
        self._changed = trio.Event()

    def __call__(self, event: EngineEvent) -> None:
        self.log.append(event)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, match: Callable[[EngineEvent], bool], timeout: float) -> EngineEvent | None:
        seen = 0
        with trio.move_on_after(timeout):
            while True:
                for event in self.log[seen:]:
                    if match(event):
                        return event
                seen = len(self.log)
                await self._changed.wait()
        return None


def answered(sequences: Collection[int | None], peer: PublicKey) -> Callable[[EngineEvent], bool]:
    """The end of a request to ``peer`` sent with one of ``sequences``: its Response or its timeout."""

    def match(event: EngineEvent) -> bool:
        return (
            isinstance(event, (ResponseReceived, RequestTimedOut))
            and event.sequence in sequences
            and event.peer == peer
        )

    return match


def make_engine(key: PrivateKey, *, root_peers: Sequence[RootPeer] = (), relay: bool = False) -> PeerEngine:
    # A relay sees every peer behind a NAT from one address: lift the per-address identity limit.
    limits = EngineLimits(max_identities_per_ip=100_000) if relay else EngineLimits()
    config = EngineConfig(user_agent=USER_AGENT, root_peers=tuple(root_peers), local_discovery=False, limits=limits)
    return PeerEngine(key, config)


async def join(engine: PeerEngine, runner: EngineRunner, events: Events, relay: RootPeer, timeout: float = 5.0) -> bool:
    """Introduce ourselves to ``relay`` without following its answer (no bootstrap walk)."""
    sequences = engine.contact(relay.public_key, relay.endpoints, trio.current_time(), follow=False)
    runner.poke()
    return isinstance(await events.wait_for(answered(sequences, relay.public_key), timeout), ResponseReceived)


async def lookup(
    engine: PeerEngine, runner: EngineRunner, events: Events, relay: RootPeer, target: PublicKey, timeout: float = 5.0
) -> PeerRecord | None:
    """The relay's record of ``target`` (a FIND_PEER request)."""
    request = Announcement(features=engine.features, find_peer=[target.node_id])
    sequence = engine.request(relay.public_key, request, trio.current_time(), timeout=timeout)
    if sequence is None:
        return None
    runner.poke()
    event = await events.wait_for(answered([sequence], relay.public_key), timeout + 2)
    if not isinstance(event, ResponseReceived):
        return None
    for entry in event.response.hash2peers:
        for record in entry.closest:
            if record.public_key == target:
                return record
    return None


def record_fields(record: PeerRecord) -> dict[str, Any]:
    return {
        "ipv4": str(record.ipv4),
        "ipv4_port": record.ipv4_port,
        "ipv4_port_internal": record.ipv4_port_internal,
        "ipv4_port_external": record.ipv4_port_external,
        "features": record.features,
    }


async def punch(
    engine: PeerEngine,
    runner: EngineRunner,
    events: Events,
    relay: RootPeer,
    target: PublicKey,
    *,
    timeout: float = 5.0,
    use_relay: bool = True,
    settle: float = 0.3,
) -> dict[str, Any]:
    """Join the relay, look the target up and request it (through the relay: hole punching).

    The outcome: ``success``; ``seconds`` from the punch request to its Response (or to the
    timeout); ``answered_from``, the target's address the Response came from, next to
    ``record_endpoints``, where the relay said it is; ``observed_by_relay``, where the relay sees
    us; ``mutual`` when the target also talked to us afterwards; the engine counters."""
    outcome: dict[str, Any] = {
        "initiator": engine.public_key.hex(),
        "target": target.hex(),
        "relay_used": use_relay,
        "success": False,
        "timed_out": False,
        "error": None,
    }
    if not await join(engine, runner, events, relay):
        outcome["error"] = "the relay did not answer"
        return outcome
    outcome["observed_by_relay"] = next(
        (list(e.observed) for e in events.log if isinstance(e, AddressObserved) and e.peer == relay.public_key), None
    )
    record = await lookup(engine, runner, events, relay, target)
    if record is None:
        outcome["error"] = "the relay has no record of the target"
        return outcome
    endpoints = record_endpoints(record)
    outcome["relay_rtt"] = next(  # a baseline: one request and its Response, through our NAT
        (e.rtt for e in reversed(events.log) if isinstance(e, ResponseReceived) and e.peer == relay.public_key), None
    )
    outcome["record"] = record_fields(record)
    outcome["record_endpoints"] = [list(e) for e in endpoints]
    outcome["known_before"] = engine.peer(target) is not None
    start = trio.current_time()
    sequence = engine.request(
        target, Announcement(features=engine.features), start, endpoints=endpoints,
        relay=relay.public_key if use_relay else None, timeout=timeout,
    )
    if sequence is None:
        outcome["error"] = "nothing could be sent"
        return outcome
    runner.poke()
    result = await events.wait_for(answered([sequence], target), timeout + 3)
    outcome["seconds"] = trio.current_time() - start
    if isinstance(result, ResponseReceived):
        outcome["success"] = True
        outcome["seconds"] = result.rtt  # the engine's own clock: request sent -> Response in
        await trio.sleep(settle)  # our ping after the punch, the target's introduction
        info = engine.peer(target)
        active = [c for c in info.connections if c[2] == "active"] if info else []
        outcome["answered_from"] = list(active[0][0]) if active else None
        outcome["mutual"] = any(
            (isinstance(e, PongReceived) and e.peer == target)
            or (isinstance(e, MessageReceived) and e.peer == target and isinstance(e.message, Announcement))
            for e in events.log
        )
    else:
        outcome["timed_out"] = isinstance(result, RequestTimedOut)
        if result is None:
            outcome["error"] = "no outcome within the timeout (hang)"
    outcome["counters"] = engine.statistics().counts()
    return outcome


async def punch_trial(
    transport: DatagramTransport, relay: RootPeer, target: PublicKey, **options: Any
) -> dict[str, Any]:
    """One punch with a fresh key on ``transport``; the engine stops afterwards."""
    engine = make_engine(PrivateKey.generate())
    events = Events()
    runner = EngineRunner(engine, transport, events)
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.run)
        outcome = await punch(engine, runner, events, relay, target, **options)
        outcome["local"] = list(transport.local_endpoints()[0])
        nursery.cancel_scope.cancel()
    return outcome


# ---- roles ----------------------------------------------------------------------------------


async def relay_role(args: argparse.Namespace) -> None:
    key = PrivateKey.from_hex(args.key) if args.key else PrivateKey.generate()
    engine = make_engine(key, relay=True)

    def on_event(event: EngineEvent) -> None:
        if isinstance(event, PeerConnected):
            emit("peer", peer=event.peer.hex(), remote=list(event.remote))
        elif isinstance(event, MessageReceived) and isinstance(event.message, Announcement):
            message = event.message
            emit(
                "announcement", peer=event.peer.hex(), remote=list(event.remote), features=message.features,
                port_internal=message.port_internal, port_external=message.port_external,
            )

    async with UdpTransport.open([endpoint(args.listen)]) as transport:
        runner = EngineRunner(engine, transport, on_event)
        async with trio.open_nursery() as nursery:
            await nursery.start(runner.run)
            emit("ready", keys=[key.public_key.hex()], endpoints=[list(e) for e in transport.local_endpoints()])
            await trio.sleep_forever()


async def one_node(
    index: int, key: PrivateKey, listen: Endpoint, args: argparse.Namespace, ready: Callable[[], None],
    *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    roots = [peer_address(text) for text in args.root]
    engine = make_engine(key, root_peers=roots)
    engine.set_firewall(args.firewall)
    events = Events()

    def on_event(event: EngineEvent) -> None:
        events(event)
        if isinstance(event, PeerConnected):
            emit("peer", node=index, peer=event.peer.hex(), remote=list(event.remote))
        elif isinstance(event, AddressObserved):
            emit("observed", node=index, peer=event.peer.hex(), observed=list(event.observed), local=list(event.local))

    def on_change(local: Endpoint, change: ReachabilityChanged) -> None:
        emit(
            "reachability", node=index, local=list(local), old=change.old.classification.value,
            new=change.new.classification.value, firewall=engine.firewall,
            external_port=change.new.external_port, features=engine.features,
        )

    async with UdpTransport.open([listen]) as transport:
        runner = EngineRunner(engine, transport, on_event)
        async with trio.open_nursery() as nursery:
            await nursery.start(runner.run)
            monitor = None
            if args.monitor or args.map:
                monitor = ReachabilityMonitor(engine, on_change=on_change)
                await nursery.start(
                    lambda task_status: monitor.run(runner, map_ports=args.map, task_status=task_status)
                )
            task_status.started()
            first_root = roots[0].public_key
            await events.wait_for(lambda e: isinstance(e, ResponseReceived) and e.peer == first_root, args.lifetime)
            if args.wait_mapped and monitor is not None:
                local = transport.local_endpoints()[0]
                while monitor.reachability(local).classification is not ReachabilityClass.MAPPED:
                    await trio.sleep(0.05)
                # the root may have heard from us before the mapping: tell it now and wait for it
                sequence = engine.request(first_root, Announcement(features=engine.features), trio.current_time())
                runner.poke()
                await events.wait_for(answered([sequence], first_root), 5.0)
            ready()
            await trio.sleep_forever()


async def node_role(args: argparse.Namespace) -> None:
    host, port = endpoint(args.listen)
    keys = [PrivateKey.from_hex(args.key)] if args.key else [PrivateKey.generate() for _ in range(args.count)]
    pending = len(keys)
    all_ready = trio.Event()

    def ready() -> None:
        nonlocal pending
        pending -= 1
        if pending == 0:
            all_ready.set()

    async with trio.open_nursery() as nursery:
        for index, key in enumerate(keys):
            await nursery.start(one_node, index, key, (host, port + index), args, ready)
        await all_ready.wait()
        emit(
            "ready", keys=[key.public_key.hex() for key in keys], endpoints=[[host, port + i] for i in range(len(keys))]
        )


async def initiator_role(args: argparse.Namespace) -> None:
    host, port = endpoint(args.listen)
    relay = peer_address(args.relay)
    targets = [PublicKey.from_hex(text) for text in args.target]

    async def trial(index: int) -> None:
        async with UdpTransport.open([(host, port + index)]) as transport:
            outcome = await punch_trial(
                transport, relay, targets[index % len(targets)], timeout=args.timeout, use_relay=not args.direct,
            )
        emit("punch", trial=index, **outcome)

    if args.concurrent:
        async with trio.open_nursery() as nursery:
            for index in range(args.trials):
                nursery.start_soon(trial, index)
    else:
        for index in range(args.trials):
            await trial(index)
    emit("done")


async def lookup_role(args: argparse.Namespace) -> None:
    relay = peer_address(args.relay)
    target = PublicKey.from_hex(args.target[0])
    engine = make_engine(PrivateKey.generate())
    events = Events()
    async with UdpTransport.open([endpoint(args.listen)]) as transport:
        runner = EngineRunner(engine, transport, events)
        async with trio.open_nursery() as nursery:
            await nursery.start(runner.run)
            joined = await join(engine, runner, events, relay)
            record = await lookup(engine, runner, events, relay, target) if joined else None
            emit("record", found=record is not None, **(record_fields(record) if record else {}))
            nursery.cancel_scope.cancel()


async def stop_on_signal(scope: trio.CancelScope) -> None:
    """SIGTERM or SIGINT end the role cleanly: port mappings are deleted on the way out."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            scope.cancel()
            return


ROLES = {
    "relay": relay_role, "node": node_role, "target": node_role, "initiator": initiator_role, "lookup": lookup_role
}


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=sorted(ROLES))
    parser.add_argument("--listen", required=True, help="IP:PORT (the first port with --count/--trials)")
    parser.add_argument("--key", help="private key in hex (default: a new one)")
    parser.add_argument("--root", action="append", default=[], help="KEY@IP:PORT of a root peer")
    parser.add_argument("--relay", help="KEY@IP:PORT of the relay")
    parser.add_argument("--target", action="append", default=[], help="public key of a target")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--direct", action="store_true", help="request the target without the relay")
    parser.add_argument("--concurrent", action="store_true", help="run the trials at the same time")
    parser.add_argument("--firewall", action="store_true", help="start with the FIREWALL bit set")
    parser.add_argument("--monitor", action="store_true", help="run the ReachabilityMonitor")
    parser.add_argument("--map", action="store_true", help="keep a port mapping (implies --monitor)")
    parser.add_argument("--wait-mapped", action="store_true")
    parser.add_argument("--lifetime", type=float, default=600.0, help="exit after this many seconds")
    args = parser.parse_args(argv)
    if args.role in ("node", "target") and not args.root:
        parser.error("node needs --root")
    if args.role in ("initiator", "lookup") and not (args.relay and args.target):
        parser.error(f"{args.role} needs --relay and --target")

    async def run() -> None:
        with trio.move_on_after(args.lifetime):  # never outlives a test run
            async with trio.open_nursery() as nursery:
                nursery.start_soon(stop_on_signal, nursery.cancel_scope)
                await ROLES[args.role](args)
                nursery.cancel_scope.cancel()
        emit("stopped")

    trio.run(run)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
