"""Local discovery (§10.3) between two network namespaces joined by a veth pair.

IPv4 broadcast (255.255.255.255 and the directed broadcast) and IPv6 multicast to ff05::112
never leave the namespaces created here."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.transport.netns import ip, netns_unavailable_reason, wait_until_up

AGENT = Path(__file__).resolve().parent / "discovery_agent.py"
SENDER = ("10.213.0.1", "fd13::1")
RECEIVER = ("10.213.0.2", "fd13::2")


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    sender, receiver = f"pnts{os.getpid()}", f"pntr{os.getpid()}"
    try:
        ip("netns", "add", sender)
        ip("netns", "add", receiver)
        ip("link", "add", "veth-s", "netns", sender, "type", "veth", "peer", "veth-r", "netns", receiver)
        for namespace, device, (ip4, ip6) in ((sender, "veth-s", SENDER), (receiver, "veth-r", RECEIVER)):
            ip("-n", namespace, "link", "set", "lo", "up")
            ip("-n", namespace, "addr", "add", f"{ip4}/24", "brd", "+", "dev", device)
            ip("-n", namespace, "addr", "add", f"{ip6}/64", "dev", device, "nodad")
            ip("-n", namespace, "link", "set", device, "up")
        for namespace, device in ((sender, "veth-s"), (receiver, "veth-r")):
            wait_until_up(namespace, device)
        yield sender, receiver
    finally:
        for namespace in (sender, receiver):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


def read_line(process: subprocess.Popen[str], timeout: float) -> dict[str, object]:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        process.kill()
        pytest.fail(f"no output from the agent within {timeout} s")
    line = process.stdout.readline()
    if not line:
        process.wait()
        assert process.stderr is not None
        pytest.fail(f"agent exited: {process.stderr.read()}")
    value: dict[str, object] = json.loads(line)
    return value


def agent(namespace: str, *arguments: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, sys.executable, str(AGENT), *arguments]


@pytest.mark.netns
def test_discovery_broadcast_and_multicast_reach_the_other_namespace(namespaces: tuple[str, str]) -> None:
    sender, receiver = namespaces
    listener = subprocess.Popen(
        agent(receiver, "receive", *RECEIVER, "3"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        ready = read_line(listener, 20.0)
        assert ready["discovery"] == [["0.0.0.0", 12912], ["::", 12912]]
        sent = subprocess.run(agent(sender, "send", *SENDER), capture_output=True, text=True, timeout=20)
        assert sent.returncode == 0, sent.stderr
        report = json.loads(sent.stdout)
        v4_main, v6_main = report["endpoints"]
        assert report["destinations"] == [
            [["255.255.255.255", 12912], ["10.213.0.255", 12912]],
            [["ff05::112", 12912]],
        ]
        assert report["sent"] == 3 and report["errors"] == 0
        received = read_line(listener, 10.0)["received"]
        assert isinstance(received, list)
    finally:
        listener.kill()
        listener.wait()
    assert sorted(map(tuple, received)) == sorted(
        [
            ("hello from 10.213.0.1", v4_main, ["0.0.0.0", 12912]),
            ("hello from 10.213.0.1", v4_main, ["0.0.0.0", 12912]),
            ("hello from fd13::1", v6_main, ["::", 12912]),
        ]
    )
