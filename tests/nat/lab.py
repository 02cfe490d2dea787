"""A NAT lab built from Linux network namespaces, for tests and benchmarks.

Topology (nothing is connected to the host's own network; the "public" range exists only
inside the namespaces, and miniupnpd needs it to look public, so it is not RFC 1918/5737)::

    a1 192.168.1.10 --[lan1]-- r1 (lan 192.168.1.1, wan PUB.1) --+
    a2 192.168.1.11 --'                                          +--[inet]-- rdv PUB.10, PUB.11
    b1 192.168.2.10 --[lan2]-- r2 (lan 192.168.2.1, wan PUB.2) --+
    IPv6 (routed ULA, stateful firewall): inet fd00:ff::/64, lan1 fd00:1::/64, lan2 fd00:2::/64

Routers masquerade on ``wan``, drop unsolicited WAN input, and can run miniupnpd (UPnP IGD,
NAT-PMP and PCP). The NAT behaviour of each router (RFC 4787 terms) is one of ``NAT_TYPES``:

=============== ============================ ================================================
type            mapping                      filtering of inbound packets
=============== ============================ ================================================
``cone``        endpoint-independent, the    address and port dependent ("port-restricted
                port kept when free          cone"): plain Linux ``masquerade``
``restricted``  endpoint-independent         address dependent: whoever we sent to, from any
                                             port; emulated with nft dynamic sets
``fullcone``    endpoint-independent         endpoint independent: anyone, once the mapping
                                             exists; emulated with an nft dynamic map
``symmetric``   a random port per            address and port dependent:
                destination                  ``masquerade fully-random``
=============== ============================ ================================================

``NatLab.run``/``NatLab.spawn`` execute commands inside a node; every process spawned is killed
and every namespace deleted by ``down()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
AGENT = HERE / "lab_agent.py"
REQUIRED_TOOLS = ("ip", "nft", "miniupnpd", "sysctl", "ss")
NODES = ("inet", "lan1", "lan2", "r1", "r2", "rdv", "a1", "a2", "b1")
ROUTERS = {"r1": ("lan1", 1), "r2": ("lan2", 2)}
HOSTS = {"a1": ("lan1", 1, 10), "a2": ("lan1", 1, 11), "b1": ("lan2", 2, 10)}
NAT_TYPES = ("cone", "restricted", "fullcone", "symmetric")
NAT_ALIASES = {"portrestricted": "cone", "port-restricted": "cone"}
CONE_MAPPING_TIMEOUT = 120  # seconds an emulated mapping lives after its last outbound packet


def lab_unavailable_reason() -> str | None:
    """Why the lab cannot run here, or None."""
    if sys.platform != "linux":
        return "the NAT lab needs Linux network namespaces"
    if os.geteuid() != 0:
        return "the NAT lab needs root (network namespaces, nftables)"
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"the NAT lab needs {', '.join(missing)} (see scripts/debian-packages.txt)"
    probe = f"pnprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create network namespaces: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class NatLab:
    """Two home networks behind NAT routers, a public rendezvous host, optional miniupnpd."""

    def __init__(
        self,
        *,
        nat1: str = "cone",
        nat2: str = "cone",
        upnp: bool = True,
        public: str = "11.0.0",
        prefix: str | None = None,
        min_lifetime: int = 1,
    ) -> None:
        self.nat = {"r1": _nat_type(nat1), "r2": _nat_type(nat2)}
        self.upnp = upnp
        self.public = public
        self.prefix = prefix or f"pn{os.getpid() % 100000}x{uuid.uuid4().hex[:4]}"
        self.min_lifetime = min_lifetime
        self.state = Path(tempfile.mkdtemp(prefix=f"natlab-{self.prefix}-"))
        self._processes: list[subprocess.Popen[str]] = []
        self._miniupnpd: dict[str, subprocess.Popen[str]] = {}
        self._made: list[str] = []
        self.events: list[dict[str, object]] = []
        self._buffers: dict[int, bytearray] = {}
        self._started: dict[str, float] = {}

    # -- addresses ------------------------------------------------------------------------
    def wan_ip(self, router: str) -> str:
        return f"{self.public}.{ROUTERS[router][1]}"

    def lan_gateway(self, node: str) -> str:
        return f"192.168.{HOSTS[node][1]}.1"

    def host_ip(self, node: str) -> str:
        _, net, host = HOSTS[node]
        return f"192.168.{net}.{host}"

    def host_ip6(self, node: str) -> str:
        _, net, host = HOSTS[node]
        return f"fd00:{net}::{host}"

    @property
    def rdv_ip(self) -> str:
        return f"{self.public}.10"

    def ns(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    # -- running things -------------------------------------------------------------------
    def run(
        self, node: str, *argv: str, check: bool = True, timeout: float = 15, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["ip", "netns", "exec", self.ns(node), *argv],
            capture_output=True, text=True, timeout=timeout, input=stdin,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{node}: {' '.join(argv)} failed: {result.stderr.strip()}")
        return result

    def spawn(
        self, node: str, *argv: str, stdout: int | IO[str] = subprocess.PIPE
    ) -> subprocess.Popen[str]:
        """Start a process inside ``node``; ``down()`` kills it if still running."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(node), *argv],
            stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._processes.append(process)
        return process

    def python(self, node: str, script: str | Path, *args: str) -> subprocess.Popen[str]:
        return self.spawn(node, sys.executable, str(script), *args)

    def agent(self, node: str, *args: str) -> subprocess.Popen[str]:
        return self.python(node, AGENT, *args)

    def wait_ready(self, process: subprocess.Popen[str], timeout: float = 10) -> None:
        assert process.stdout is not None
        line = self.read_line(process, timeout)
        if line.strip() != "ready":
            raise RuntimeError(f"process did not get ready: {line!r} {_stderr(process)}")

    def read_line(self, process: subprocess.Popen[str], timeout: float) -> str:
        """One line of output (unbuffered, so that select() sees every pending line)."""
        assert process.stdout is not None
        fd = process.stdout.fileno()
        buffer = self._buffers.setdefault(fd, bytearray())
        deadline = time.monotonic() + timeout
        while b"\n" not in buffer:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("no output from lab process")
            chunk = os.read(fd, 65536)
            if not chunk:
                line = bytes(buffer)
                buffer.clear()
                return line.decode(errors="replace")
            buffer += chunk
        line, _, rest = bytes(buffer).partition(b"\n")
        buffer[:] = rest
        return line.decode(errors="replace") + "\n"

    def next_event(
        self, process: subprocess.Popen[str], kinds: Sequence[str], timeout: float,
        after: float = 0.0,
    ) -> dict[str, object]:
        """Read JSON lines from ``process`` until one has an ``event`` in ``kinds`` and a time
        ``t`` (CLOCK_MONOTONIC, as ``time.monotonic()``) not before ``after``."""
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kinds} event within {timeout} s")
            line = self.read_line(process, remaining)
            if not line:
                raise RuntimeError(f"process ended before {kinds}: {_stderr(process)[-2000:]}")
            event: dict[str, object] = json.loads(line)
            self.events.append(event)
            if event.get("event") in kinds and float(str(event.get("t", 0))) >= after:
                return event

    def udp_reachable(self, node: str, host: str, port: int, timeout: float = 3) -> bool:
        """Does a UDP echo at ``host:port`` answer ``node``?"""
        result = self.run(
            node, sys.executable, str(AGENT), "send", host, str(port), f"ping-{port}",
            str(timeout), check=False, timeout=timeout + 10,
        )
        return result.returncode == 0

    # -- building -------------------------------------------------------------------------
    def _ip(self, *argv: str) -> None:
        _check(["ip", *argv])

    def _netns(self, node: str) -> None:
        name = self.ns(node)
        self._ip("netns", "add", name)
        self._made.append(name)
        self._ip("-n", name, "link", "set", "lo", "up")
        self._sysctl(node, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")

    def _sysctl(self, node: str, *settings: str) -> None:
        _check(["ip", "netns", "exec", self.ns(node), "sysctl", "-qw", *settings])

    def _switch(self, node: str) -> None:
        self._netns(node)
        self._ip("-n", self.ns(node), "link", "add", "br0", "type", "bridge",
                 "mcast_snooping", "0", "stp_state", "0", "forward_delay", "0")
        self._ip("-n", self.ns(node), "link", "set", "br0", "up")

    def _plug(self, node: str, ifname: str, switch: str) -> None:
        self._ip("link", "add", ifname, "netns", self.ns(node), "type", "veth",
                 "peer", "name", node, "netns", self.ns(switch))
        self._ip("-n", self.ns(switch), "link", "set", node, "master", "br0", "up")
        self._ip("-n", self.ns(node), "link", "set", ifname, "up")

    def _router(self, router: str) -> None:
        switch, net = ROUTERS[router]
        name = self.ns(router)
        self._netns(router)
        self._sysctl(router, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        self._plug(router, "wan", "inet")
        self._plug(router, "lan", switch)
        self._ip("-n", name, "addr", "add", f"{self.wan_ip(router)}/24", "dev", "wan")
        self._ip("-n", name, "addr", "add", f"192.168.{net}.1/24", "dev", "lan")
        self._ip("-n", name, "-6", "addr", "add", f"fd00:ff::{net}/64", "dev", "wan", "nodad")
        self._ip("-n", name, "-6", "addr", "add", f"fd00:{net}::1/64", "dev", "lan", "nodad")
        other = 3 - net
        self._ip("-n", name, "-6", "route", "add", f"fd00:{other}::/64", "via", f"fd00:ff::{other}")
        kind = self.nat[router]
        masquerade = "masquerade fully-random" if kind == "symmetric" else "masquerade"
        self.run(router, "nft", "-f", "-", stdin=_ROUTER_RULES.format(masquerade=masquerade, lan=f"192.168.{net}.0/24"))
        if kind in ("restricted", "fullcone"):
            self.run(router, "nft", "-f", "-", stdin=_cone_rules(kind, CONE_MAPPING_TIMEOUT))

    def _host(self, node: str) -> None:
        switch, net, _ = HOSTS[node]
        name = self.ns(node)
        self._netns(node)
        self._plug(node, "eth0", switch)
        self._ip("-n", name, "addr", "add", f"{self.host_ip(node)}/24", "dev", "eth0")
        self._ip("-n", name, "route", "add", "default", "via", f"192.168.{net}.1")
        self._ip("-n", name, "-6", "addr", "add", f"{self.host_ip6(node)}/64", "dev", "eth0", "nodad")
        self._ip("-n", name, "-6", "route", "add", "default", "via", f"fd00:{net}::1")

    def up(self) -> NatLab:
        try:
            for switch in ("inet", "lan1", "lan2"):
                self._switch(switch)
            for router in ROUTERS:
                self._router(router)
            self._netns("rdv")
            self._plug("rdv", "eth0", "inet")
            for address in (f"{self.public}.10/24", f"{self.public}.11/24"):
                self._ip("-n", self.ns("rdv"), "addr", "add", address, "dev", "eth0")
            self._ip("-n", self.ns("rdv"), "-6", "addr", "add", "fd00:ff::10/64", "dev", "eth0", "nodad")
            for net in (1, 2):
                self._ip("-n", self.ns("rdv"), "-6", "route", "add", f"fd00:{net}::/64", "via", f"fd00:ff::{net}")
            for host in HOSTS:
                self._host(host)
            if self.upnp:
                for router in ROUTERS:
                    self.start_miniupnpd(router)
        except BaseException:
            self.down()
            raise
        return self

    # -- miniupnpd ------------------------------------------------------------------------
    def start_miniupnpd(self, router: str) -> None:
        _, net = ROUTERS[router]
        config = self.state / f"{router}-miniupnpd.conf"
        config.write_text(
            "ext_ifname=wan\nlistening_ip=lan\nhttp_port=5000\nenable_upnp=yes\n"
            "enable_natpmp=yes\nsecure_mode=yes\nsystem_uptime=no\n"
            f"min_lifetime={self.min_lifetime}\nmax_lifetime=86400\n"
            f"uuid={uuid.uuid4()}\n"
            f"allow 1024-65535 192.168.{net}.0/24 1024-65535\n"
            "deny 0-65535 0.0.0.0/0 0-65535\n"
        )
        with open(self.state / f"{router}-miniupnpd.log", "a") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.ns(router), "miniupnpd", "-d", "-f", str(config),
                 "-P", str(self.state / f"{router}-miniupnpd.pid")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            )
        self._miniupnpd[router] = process
        self._started[router] = time.monotonic()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            listening = self.run(router, "ss", "-lun", check=False).stdout
            if ":5351 " in listening and process.poll() is None:
                # the HTTP side comes up in the same loop iteration as NAT-PMP
                return
            time.sleep(0.05)
        raise RuntimeError(f"miniupnpd on {router} did not start: {self.miniupnpd_log(router)}")

    def miniupnpd_uptime(self, router: str) -> float:
        return time.monotonic() - self._started[router]

    def stop_miniupnpd(self, router: str) -> None:
        process = self._miniupnpd.pop(router, None)
        if process is not None:
            _terminate(process)

    def restart_miniupnpd(self, router: str) -> None:
        """Restart the daemon as a router reboot would: its forwarding rules are lost too."""
        self.stop_miniupnpd(router)
        for chain in ("prerouting_miniupnpd", "postrouting_miniupnpd", "miniupnpd"):
            self.run(router, "nft", "flush", "chain", "inet", "filter", chain)
        self.start_miniupnpd(router)

    def miniupnpd_log(self, router: str) -> str:
        path = self.state / f"{router}-miniupnpd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def forwarded_ports(self, router: str) -> str:
        """The DNAT rules miniupnpd installed (empty when no mapping exists)."""
        return self.run(router, "nft", "list", "chain", "inet", "filter", "prerouting_miniupnpd").stdout

    # -- teardown -------------------------------------------------------------------------
    def down(self) -> None:
        for router in list(self._miniupnpd):
            self.stop_miniupnpd(router)
        for process in self._processes:
            _terminate(process)
        for name in reversed(self._made):
            pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self._made.clear()

    def __enter__(self) -> NatLab:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()


_ROUTER_RULES = """
table inet filter {{
    chain input {{
        type filter hook input priority filter; policy accept;
        iifname "wan" ct state established,related accept
        iifname "wan" meta l4proto {{ icmp, ipv6-icmp }} accept
        iifname "wan" drop
    }}
    chain forward {{
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        meta l4proto ipv6-icmp accept
        iifname "lan" oifname "wan" accept
        jump miniupnpd
        ct status dnat accept
    }}
    chain miniupnpd {{ }}
    chain prerouting {{
        type nat hook prerouting priority dstnat; policy accept;
        jump prerouting_miniupnpd
    }}
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        jump postrouting_miniupnpd
        oifname "wan" ip saddr {lan} {masquerade}
    }}
    chain prerouting_miniupnpd {{ }}
    chain postrouting_miniupnpd {{ }}
}}
"""


def _nat_type(name: str) -> str:
    kind = NAT_ALIASES.get(name, name)
    if kind not in NAT_TYPES:
        raise ValueError(f"unknown NAT type {name!r}; expected one of {', '.join(NAT_TYPES)}")
    return kind


def _cone_rules(kind: str, timeout: int) -> str:
    """Endpoint-independent filtering on top of Linux masquerade (whose mapping is already
    endpoint independent when the port is free): remember every UDP mapping masquerade made
    (external port -> LAN endpoint) and every remote address it sent to, and DNAT unsolicited
    inbound packets back through that memory. ``restricted`` admits only remote addresses the
    mapping has sent to (any source port); ``fullcone`` admits anyone."""
    admit = "udp dport . ip saddr @sent_to" if kind == "restricted" else "meta l4proto udp"
    return f"""
table ip lab_cone {{
    map mapped {{
        type inet_service : ipv4_addr . inet_service; flags dynamic, timeout; timeout {timeout}s;
    }}
    set sent_to {{
        type inet_service . ipv4_addr; flags dynamic, timeout; timeout {timeout}s;
    }}
    chain remember {{
        # after masquerade (srcnat): the source port seen here is the external one
        type filter hook postrouting priority srcnat + 10; policy accept;
        oifname "wan" meta l4proto udp ct direction original \
            update @mapped {{ udp sport : ct original ip saddr . ct original proto-src }}
        oifname "wan" meta l4proto udp ct direction original update @sent_to {{ udp sport . ip daddr }}
    }}
    chain admit {{
        # after miniupnpd's forwardings (dstnat): a port mapping wins
        type nat hook prerouting priority dstnat + 10; policy accept;
        iifname "wan" {admit} dnat ip to udp dport map @mapped
    }}
}}
"""


def _check(argv: Sequence[str]) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


def _terminate(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=3)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _stderr(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        return ""
    return process.stderr.read() if process.stderr else ""
