"""The node's DHT operations on the in-memory network (trio MockClock): store / find_value from
every node, find_peer, with Go-style peers and 2 % packet loss.

The value is fetched from its owner alone (the closest peers only point to it), so each get
depends on one request getting through in three attempts: at 2 % loss per datagram a get fails
with probability ~6e-5.
"""

from __future__ import annotations

import pytest
import trio

from peernet.cli import main
from peernet_dht import VALUE_SIZE_MAX, StoreFullError
from peernet_proto import hash_data
from peernet_proto.testing import MemoryNetwork
from tests.node.netsim import start_mixed_network


async def test_store_find_value_and_find_peer_with_go_peers_and_loss(autojump_clock):
    network = MemoryNetwork(seed=3, latency=0.02, loss=0.02)
    async with trio.open_nursery() as nursery:
        nodes, go = await start_mixed_network(nursery, network, 40, 5, seed=4)
        await trio.sleep(20.0)
        owner = nodes[5]
        value = b"profile picture bytes " * 1000
        key = await owner.store(value)
        assert key == hash_data(value)
        holders = [n for n in nodes if n.dht.service.values.providers(key, trio.current_time())]
        assert len(holders) >= 10  # the closest Python peers of the key record us as provider
        assert all(p.recorder.with_extension == 0 for p in go)  # INFO_STORE is plain wire, no extension

        found: dict[int, bytes | None] = {}

        async def get(index: int) -> None:
            found[index] = await nodes[index].find_value(key)

        async with trio.open_nursery() as gets:
            for index in range(len(nodes)):
                gets.start_soon(get, index)
        assert all(v == value for v in found.values()), [i for i, v in found.items() if v != value]
        assert await nodes[9].find_value(b"\x01" * 32) is None

        with pytest.raises(StoreFullError):
            await owner.store(b"x" * (VALUE_SIZE_MAX + 1))

        for target in [nodes[30].public_key, go[2].public_key, go[7].public_key]:
            remote = await nodes[1].find_peer(target.node_id)
            assert remote is not None and remote.public_key == target
        assert await nodes[1].find_peer(b"\x42" * 32) is None  # nobody has that ID

        # The value lives with its owner: once it is gone, the pointers lead nowhere.
        network.remove_host(owner.runner.transport)  # type: ignore[arg-type]
        with trio.fail_after(60):
            assert await nodes[12].find_value(key) is None
        nursery.cancel_scope.cancel()


def test_search_command_without_a_running_node(tmp_path, capsys):
    assert main(["search", "sunset", "beach", "--data-dir", str(tmp_path)]) == 1
    assert "no running node" in capsys.readouterr().err
