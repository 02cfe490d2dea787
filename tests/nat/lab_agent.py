"""Small UDP tools run inside lab namespaces (stdlib only).

    lab_agent.py echo PORT [v6]             UDP echo server; prints "ready" once bound
    lab_agent.py send HOST PORT MSG TIMEOUT send MSG, exit 0 if an echo comes back in time
    lab_agent.py whoami LOCALPORT HOST PORT ask the rendezvous which endpoint it sees
    lab_agent.py rdv IP:PORT...             rendezvous: answers WHOAMI with "YOU ip port" from
                                            the socket asked, "FROM port|ip" from another port
                                            or another address of its own
    lab_agent.py filtering LOCALPORT HOST PORT  which replies get through our NAT: prints
                                            "port yes|no ip yes|no" (replies from another port,
                                            another address than the one we sent to)
"""

from __future__ import annotations

import select
import socket
import sys
import time


def _endpoint(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def echo(port: str, v6: str = "") -> int:
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("::" if v6 else "0.0.0.0", int(port)))
    print("ready", flush=True)
    deadline = time.monotonic() + 300  # never outlives a test run
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 1.0)
        if ready:
            data, addr = sock.recvfrom(2048)
            sock.sendto(data, addr)
    return 0


def send(host: str, port: str, message: str, timeout: str) -> int:
    sock = socket.socket(_family(host), socket.SOCK_DGRAM)
    deadline = time.monotonic() + float(timeout)
    while time.monotonic() < deadline:
        sock.sendto(message.encode(), (host, int(port)))
        ready, _, _ = select.select([sock], [], [], 0.2)
        if ready:
            data, _ = sock.recvfrom(2048)
            if data == message.encode():
                return 0
    return 1


def whoami(local_port: str, host: str, port: str) -> int:
    sock = socket.socket(_family(host), socket.SOCK_DGRAM)
    sock.bind(("", int(local_port)))
    for _ in range(10):
        sock.sendto(b"WHOAMI", (host, int(port)))
        ready, _, _ = select.select([sock], [], [], 0.3)
        if ready:
            print(sock.recvfrom(2048)[0].decode(), flush=True)
            return 0
    return 1


def rdv(*endpoints: str) -> int:
    sockets = []
    for text in endpoints:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(_endpoint(text))
        sockets.append(sock)
    print("ready", flush=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        ready, _, _ = select.select(sockets, [], [], 1.0)
        for sock in ready:
            data, addr = sock.recvfrom(2048)
            if data.startswith(b"WHOAMI"):
                sock.sendto(f"YOU {addr[0]} {addr[1]}".encode(), addr)
            elif data.startswith(b"FROM "):
                other = _other_socket(sockets, sock, data[5:].decode(errors="replace").strip())
                if other is not None:
                    other.sendto(data, addr)
    return 0


def _other_socket(sockets: list[socket.socket], asked: socket.socket, change: str) -> socket.socket | None:
    """A socket on the same address and another port ("port"), or the same port on another
    address ("ip")."""
    host, port = asked.getsockname()[:2]
    for sock in sockets:
        other_host, other_port = sock.getsockname()[:2]
        if change == "port" and other_host == host and other_port != port:
            return sock
        if change == "ip" and other_host != host and other_port == port:
            return sock
    return None


def filtering(local_port: str, host: str, port: str) -> int:
    """Ask the rendezvous to answer from another port, then from another address; each from a
    fresh socket that has sent to (host, port) only."""
    results = []
    for offset, change in enumerate(("port", "ip")):
        sock = socket.socket(_family(host), socket.SOCK_DGRAM)
        sock.bind(("", int(local_port) + offset))
        received = False
        for _ in range(4):
            sock.sendto(f"FROM {change}".encode(), (host, int(port)))
            ready, _, _ = select.select([sock], [], [], 0.25)
            if ready:
                received = sock.recvfrom(2048)[0].startswith(b"FROM")
                break
        sock.close()
        results.append(f"{change} {'yes' if received else 'no'}")
    print(" ".join(results), flush=True)
    return 0


if __name__ == "__main__":
    commands = {"echo": echo, "send": send, "whoami": whoami, "rdv": rdv, "filtering": filtering}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
