"""Hole-punching sessions in the NAT lab, driving punch_agent.py processes: a relay on the public
rendezvous host, targets on b1 (behind r2), initiators on a1 (behind r1). Used by
test_lab_punch.py and benchmarks/bench_nat.py."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from lab import HERE, NatLab

AGENT = HERE / "punch_agent.py"
RELAY_PORT = 7000


class Targets:
    """Engines on b1 that bootstrapped from the relay and stay up."""

    def __init__(self, lab: NatLab, process: subprocess.Popen[str], keys: list[str]) -> None:
        self.lab = lab
        self.process = process
        self.keys = keys

    def events(self, kind: str) -> list[dict[str, Any]]:
        """What the targets printed so far, of one kind (read without waiting for long)."""
        found = []
        while True:
            try:
                line = self.lab.read_line(self.process, timeout=0.3)
            except TimeoutError:
                return found
            if not line:
                return found
            event = json.loads(line)
            if event["event"] == kind:
                found.append(event)

    def remote_of(self, peer_events: list[dict[str, Any]], key: str) -> tuple[str, int] | None:
        """Where the targets first saw ``key`` come from."""
        for event in peer_events:
            if event["peer"] == key:
                return event["remote"][0], event["remote"][1]
        return None


class PunchLab:
    """A relay on rdv; targets and initiators started on demand."""

    def __init__(self, lab: NatLab) -> None:
        self.lab = lab
        relay = lab.python("rdv", AGENT, "relay", "--listen", f"{lab.rdv_ip}:{RELAY_PORT}")
        key = lab.next_event(relay, ["ready"], timeout=10)["keys"][0]  # type: ignore[index]
        self.relay = f"{key}@{lab.rdv_ip}:{RELAY_PORT}"

    def start_targets(self, count: int, first_port: int, *options: str) -> subprocess.Popen[str]:
        return self.lab.python(
            "b1", AGENT, "node", "--listen", f"{self.lab.host_ip('b1')}:{first_port}", "--count", str(count),
            "--root", self.relay, *options,
        )

    def targets_ready(self, process: subprocess.Popen[str], timeout: float = 20) -> Targets:
        ready = self.lab.next_event(process, ["ready"], timeout=timeout)
        return Targets(self.lab, process, list(ready["keys"]))  # type: ignore[call-overload]

    def targets(self, count: int, first_port: int, *options: str) -> Targets:
        return self.targets_ready(self.start_targets(count, first_port, *options))

    def start_initiator(
        self, targets: Targets, first_port: int, *, timeout: float = 5.0, trials: int | None = None,
        concurrent: bool = False, direct: bool = False,
    ) -> subprocess.Popen[str]:
        """One initiator process: a trial per target (a fresh key and port each)."""
        trials = len(targets.keys) if trials is None else trials
        argv = ["initiator", "--listen", f"{self.lab.host_ip('a1')}:{first_port}", "--relay", self.relay,
                "--trials", str(trials), "--timeout", str(timeout)]
        argv += [arg for key in targets.keys for arg in ("--target", key)]
        argv += ["--concurrent"] * concurrent + ["--direct"] * direct
        return self.lab.python("a1", AGENT, *argv)

    def outcomes(self, initiator: subprocess.Popen[str], limit: float) -> list[dict[str, Any]]:
        """The "punch" lines of an initiator, by trial, once it is done."""
        found = []
        while True:
            event = self.lab.next_event(initiator, ["punch", "done"], timeout=limit)
            if event["event"] == "done":
                return sorted(found, key=lambda outcome: int(outcome["trial"]))
            found.append(event)

    def punch(self, targets: Targets, first_port: int, *, timeout: float = 5.0, trials: int | None = None,
              concurrent: bool = False, direct: bool = False) -> list[dict[str, Any]]:
        count = len(targets.keys) if trials is None else trials
        initiator = self.start_initiator(
            targets, first_port, timeout=timeout, trials=trials, concurrent=concurrent, direct=direct
        )
        return self.outcomes(initiator, (timeout + 10) * (1 if concurrent else count))
