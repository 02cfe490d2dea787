"""Two network namespaces for the real-UDP attack runs: the victim node and the outside world.

    node ns:  veth 10.77.0.1/24, fd77::1/64 — the victim (``node_agent.py``) on port 5000
    world ns: veth 10.77.0.2/24, fd77::2/64 — the good peer and newcomers; attackers send from
              100.78.0.0/16 and 2001:db8:78:1::/64, routed as local there (AnyIP), so any address of
              those ranges can be bound without configuring it; the node ns routes them back.

Nothing is connected to the host's own network. ``AttackNet.down()`` kills every process spawned
and deletes both namespaces.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["AttackNet", "netns_unavailable_reason", "run_real"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NODE_IP, NODE_IP6, WORLD_IP, WORLD_IP6 = "10.77.0.1", "fd77::1", "10.77.0.2", "fd77::2"
# Attacker ranges outside the private ranges the engine treats as "local" (a relay only forwards
# for peers at non-local addresses); they exist only inside the namespaces.
ATTACK_V4, ATTACK_V6 = "100.78.0.0/16", "2001:db8:78:1::/64"


def netns_unavailable_reason() -> str | None:
    """Why namespaces cannot be created here, or None."""
    if sys.platform != "linux":
        return "needs Linux network namespaces"
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs the ip tool (iproute2)"
    probe = f"pnaprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create network namespaces: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, text=True)


class AttackNet:
    """The two namespaces; ``spawn`` runs a Python agent inside one of them."""

    def __init__(self) -> None:
        suffix = os.getpid()
        self.node, self.world = f"pnan{suffix}", f"pnaw{suffix}"
        self.processes: list[subprocess.Popen[str]] = []

    def up(self) -> AttackNet:
        """Create the namespaces, the veth pair, addresses and routes."""
        try:
            _ip("netns", "add", self.node)
            _ip("netns", "add", self.world)
            _ip("link", "add", "veth-n", "netns", self.node, "type", "veth", "peer", "veth-w", "netns", self.world)
            for ns, dev, ip4, ip6 in (
                (self.node, "veth-n", NODE_IP, NODE_IP6),
                (self.world, "veth-w", WORLD_IP, WORLD_IP6),
            ):
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", ns, "addr", "add", f"{ip4}/24", "dev", dev)
                _ip("-n", ns, "addr", "add", f"{ip6}/64", "dev", dev, "nodad")
                _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", self.world, "route", "add", "local", ATTACK_V4, "dev", "lo")
            _ip("-n", self.world, "-6", "route", "add", "local", ATTACK_V6, "dev", "lo")
            _ip("-n", self.node, "route", "add", ATTACK_V4, "via", WORLD_IP)
            _ip("-n", self.node, "-6", "route", "add", ATTACK_V6, "via", WORLD_IP6)
            time.sleep(0.2)
        except BaseException:
            self.down()
            raise
        return self

    def spawn(self, namespace: str, *arguments: str) -> subprocess.Popen[str]:
        """Run ``python -m tests.attacks.<agent> arguments`` in ``namespace``."""
        env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.processes.append(process)
        return process

    @staticmethod
    def result(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
        """The JSON object an agent prints last."""
        out, err = process.communicate(timeout=timeout)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"agent failed ({process.returncode}): {err[-2000:]}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    def down(self) -> None:
        """Kill the agents and delete the namespaces."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for namespace in (self.node, self.world):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)

    def __enter__(self) -> AttackNet:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()


WARM, AFTER = 3.0, 10.0


def run_real(attack: str, rate: float, duration: float, *, after: float = AFTER) -> dict[str, Any]:
    """One attack on real UDP: the node, the good peer with newcomers and the attacker, each its own
    process; returns the merged results of the three (``attack="none"``: the baseline)."""
    with AttackNet() as net:
        flooder = None
        if attack != "none":
            flooder = net.spawn(net.world, "-m", "tests.attacks.world_agent", "flood", attack, str(rate), str(duration))
            assert flooder.stdout is not None
            line = flooder.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(
                    f"attacker did not start: {line!r} {flooder.stderr.read() if flooder.stderr else ''}"
                )
        t0 = time.monotonic() + 3.0
        start, stop = t0 + WARM, t0 + WARM + duration
        end = stop + after
        node = net.spawn(net.node, "-m", "tests.attacks.node_agent", NODE_IP, NODE_IP6, "5000", str(end + 0.5))
        good = net.spawn(net.world, "-m", "tests.attacks.world_agent", "good", str(t0), str(start), str(stop), str(end))
        if flooder is not None:
            assert flooder.stdin is not None
            flooder.stdin.write(f"{start}\n")
            flooder.stdin.flush()
        results: dict[str, Any] = {"attack": attack, "rate": rate, "duration": duration, "window": [start, stop]}
        results.update(net.result(good, end - time.monotonic() + 60))
        results["node"] = net.result(node, 60)
        if flooder is not None:
            results["attacker"] = net.result(flooder, 60)
        return results
