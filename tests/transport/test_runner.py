"""EngineRunner on real UDP loopback: what an event handler does through the runner."""

from __future__ import annotations

import trio

from peernet_proto import EngineConfig, EngineEvent, EngineRunner, PeerEngine, PongReceived, PrivateKey, UdpTransport


async def test_a_handler_pinging_again_on_each_pong_keeps_the_exchange_going() -> None:
    """poke() from an event handler joins the flush that dispatched the event: what it queued leaves
    in that same flush, so a ping sent from a Pong handler goes out (and is answered) every time."""
    async with (
        UdpTransport.open([("127.0.0.1", 0)]) as transport_a,
        UdpTransport.open([("127.0.0.1", 0)]) as transport_b,
        trio.open_nursery() as nursery,
    ):
        a = PeerEngine(PrivateKey.generate(), EngineConfig(local_discovery=False))
        b = PeerEngine(PrivateKey.generate(), EngineConfig(local_discovery=False))
        pongs: list[float] = []
        runner_a: EngineRunner

        def on_event(event: EngineEvent) -> None:
            if isinstance(event, PongReceived) and len(pongs) < 50:
                pongs.append(event.rtt)
                a.ping(b.public_key, trio.current_time())
                runner_a.poke()

        runner_a = EngineRunner(a, transport_a, on_event)
        await nursery.start(runner_a.run)
        await nursery.start(EngineRunner(b, transport_b).run)
        a.contact(b.public_key, list(transport_b.local_endpoints()), trio.current_time())
        runner_a.poke()
        with trio.fail_after(5):
            while a.peer(b.public_key) is None:
                await trio.sleep(0.01)
            a.ping(b.public_key, trio.current_time())
            runner_a.poke()
            while len(pongs) < 50:
                await trio.sleep(0.01)
        assert all(0 < rtt < 1 for rtt in pongs)
        nursery.cancel_scope.cancel()
