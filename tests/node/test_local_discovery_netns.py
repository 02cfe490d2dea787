"""Two ``peernet run`` nodes in two network namespaces joined by a veth pair find each other by local
discovery alone (§10.3): no root peers, only IPv4 broadcast and IPv6 multicast on port 12912."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.transport.netns import ip, netns_unavailable_reason, wait_until_up

PORT = 5112
DEADLINE = 30.0  # seconds for both nodes to list each other
PEER_LINE = re.compile(r"^([0-9a-f]{66})\s")


@attrs.frozen
class Site:
    namespace: str
    device: str
    ip4: str
    ip6: str
    data_dir: Path

    def endpoints(self, families: tuple[int, ...]) -> list[str]:
        """``HOST:PORT`` as the CLI takes and ``peernet peers`` prints it, one per family."""
        return [f"{self.ip4}:{PORT}" if family == 4 else f"[{self.ip6}]:{PORT}" for family in families]


def peernet(site: Site, *arguments: str) -> list[str]:
    """The ``peernet`` command line run inside the site's namespace."""
    return ["ip", "netns", "exec", site.namespace, sys.executable, "-m", "peernet", *arguments]


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[tuple[Site, Site]]:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    tag = f"{os.getpid() % 100000}{secrets.token_hex(2)}"
    a = Site(f"pnda{tag}", "veth-a", "10.214.0.1", "fd14::1", tmp_path / "a")
    b = Site(f"pndb{tag}", "veth-b", "10.214.0.2", "fd14::2", tmp_path / "b")
    try:
        ip("netns", "add", a.namespace)
        ip("netns", "add", b.namespace)
        ip("link", "add", a.device, "netns", a.namespace, "type", "veth",
           "peer", b.device, "netns", b.namespace)
        for site in (a, b):
            ip("-n", site.namespace, "link", "set", "lo", "up")  # the local API listens on 127.0.0.1
            ip("-n", site.namespace, "addr", "add", f"{site.ip4}/24", "brd", "+", "dev", site.device)
            ip("-n", site.namespace, "addr", "add", f"{site.ip6}/64", "dev", site.device, "nodad")
            ip("-n", site.namespace, "link", "set", site.device, "up")
        for site in (a, b):
            wait_until_up(site.namespace, site.device)
        yield a, b
    finally:
        for site in (a, b):
            subprocess.run(["ip", "netns", "del", site.namespace], capture_output=True)


def public_key(site: Site) -> str:
    """Creates the site's key (``peernet id`` initialises the data directory) and returns it."""
    shown = subprocess.run(
        [sys.executable, "-m", "peernet", "id", "--data-dir", str(site.data_dir)],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    match = re.search(r"public key ([0-9a-f]{66})", shown)
    assert match, shown
    return match.group(1)


def listed_peers(site: Site) -> dict[str, str]:
    """Public key -> connection summary, as ``peernet peers`` prints them; empty before the API is up."""
    shown = subprocess.run(
        peernet(site, "peers", "--data-dir", str(site.data_dir)), capture_output=True, text=True, timeout=30
    )
    peers: dict[str, str] = {}
    for line in shown.stdout.splitlines():
        match = PEER_LINE.match(line)
        if match:
            peers[match.group(1)] = line[match.end():]
    return peers


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def printed(endpoint: str) -> str:
    return endpoint  # ``peernet peers`` prints endpoints as given (IPv6 in brackets)


@pytest.mark.netns
@pytest.mark.parametrize("families", [(4,), (6,), (4, 6)], ids=["ipv4-broadcast", "ipv6-multicast", "both"])
def test_two_nodes_find_each_other_by_local_discovery_only(
    sites: tuple[Site, Site], families: tuple[int, ...], tmp_path: Path
) -> None:
    a, b = sites
    keys = {site.namespace: public_key(site) for site in sites}
    logs = {site.namespace: tmp_path / f"{site.namespace}.log" for site in sites}
    other = {a.namespace: b, b.namespace: a}

    def found(seen: dict[str, dict[str, str]]) -> bool:
        """Each lists the other, with a connection to each of the other's listen endpoints."""
        return all(
            keys[other[n].namespace] in peers
            and all(printed(e) in peers[keys[other[n].namespace]] for e in other[n].endpoints(families))
            for n, peers in seen.items()
        )

    processes: list[subprocess.Popen[bytes]] = []
    try:
        for site in sites:
            with logs[site.namespace].open("wb") as log:
                listen = [arg for endpoint in site.endpoints(families) for arg in ("--listen", endpoint)]
                command = peernet(site, "run", "--data-dir", str(site.data_dir), *listen,
                                  "--user-agent", f"netns-{site.namespace}", "--local-discovery")
                processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + DEADLINE
        while True:
            for process, site in zip(processes, sites, strict=False):
                if process.poll() is not None:
                    pytest.fail(f"node in {site.namespace} exited:\n{logs[site.namespace].read_text()}")
            seen = {site.namespace: listed_peers(site) for site in sites}
            if found(seen):
                break
            if time.monotonic() > deadline:
                details = "\n".join(f"--- {n}: peers {seen[n]}\n{logs[n].read_text()}" for n in logs)
                pytest.fail(f"the nodes did not list each other within {DEADLINE} s\n{details}")
            time.sleep(0.5)
    finally:
        for process in processes:
            stop(process)
    # No root peers anywhere: each knows exactly the other, under the user agent the other announced.
    for site in sites:
        peer = keys[other[site.namespace].namespace]
        assert list(seen[site.namespace]) == [peer]
        assert f"netns-{other[site.namespace].namespace}" in seen[site.namespace][peer]
