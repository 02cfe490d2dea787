"""Crash safety: SIGKILL a process writing to the chain at random moments, then check the store."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from crash_writer import KEY, expected_ids

from peernet_chain import LocalChain

KILLS = 50


def _committed(output: bytes) -> int | None:
    lines = output.decode().split()
    return int(lines[-1]) if lines else None


def test_sigkill_never_corrupts_or_loses_commits(tmp_path: Path) -> None:
    rng = random.Random(1234)
    store = tmp_path / "chain"
    script = Path(__file__).with_name("crash_writer.py")
    done = 0  # operations known to be in the store
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(script.parent), os.environ.get("PYTHONPATH", "")]),
    }
    killed_mid_run = 0
    for _ in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, str(script), str(store), str(done + 1)], stdout=subprocess.PIPE, env=env
        )
        # Kill it while it writes: after its first commit (start-up time varies with load).
        assert child.stdout is not None
        first = child.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        output, _ = child.communicate()
        output = first + output
        reported = _committed(output)
        killed_mid_run += reported is not None
        with LocalChain(store, KEY, map_size=1 << 28) as chain:
            blocks = chain.validate()
            ids = {f.id for block in blocks for f in block.files()}
        # Everything reported as committed is there; at most the one change in flight is extra.
        floor = reported if reported is not None else done
        candidates = {floor: expected_ids(floor), floor + 1: expected_ids(floor + 1)}
        matches = [n for n, expected in candidates.items() if expected == ids]
        assert matches, f"store matches neither operation {floor} nor {floor + 1}"
        done = matches[0]
    assert killed_mid_run > KILLS // 2, "the writer should usually be killed while it is writing"
    assert done > KILLS
