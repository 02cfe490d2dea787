"""Network namespaces for the local discovery tests: whether they can be made here, and setting them up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

__all__ = ["ip", "netns_unavailable_reason", "wait_until_up"]


def netns_unavailable_reason() -> str | None:
    if sys.platform != "linux":
        return "needs Linux network namespaces"
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs the ip tool (iproute2)"
    probe = f"pntprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create network namespaces: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, text=True)


def wait_until_up(namespace: str, device: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        shown = subprocess.run(
            ["ip", "-n", namespace, "-o", "link", "show", "dev", device], capture_output=True, text=True
        ).stdout
        if "state UP" in shown:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{device} in {namespace} is not up: {shown}")
        time.sleep(0.02)
