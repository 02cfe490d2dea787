"""A researcher's simulator run: 100 real peer engines in simulated time, lookups, a plot.

Runs `python -m peernet_dht.sim` with its command-line options (here through its `main`, so the
example is one script): every simulated node is a real peer engine with its own routing table; the
tables are installed as a handshake fill would leave them (`--fill handshake --packets signed`
shakes hands for real with encrypted, signed packets, `--fill-per-bucket N` keeps fewer peers per
full bucket); then random lookups run and the report says how many found the truly closest live
node, in how many hops, at what message cost. `--loss` drops that fraction of datagrams; `--plot`
writes a histogram of hops per lookup.

    python examples/simulator_plot.py [DIRECTORY]   # the plot goes there (default: a temporary directory)

The same from a shell:

    python -m peernet_dht.sim --nodes 100 --lookups 50 --seed 1 --loss 0.05 --json --plot hops.png
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

from peernet_dht.sim import main as sim_main


def run(directory: Path) -> None:
    plot = directory / "hops.png"
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        sim_main(["--nodes", "100", "--lookups", "50", "--seed", "1", "--loss", "0.05", "--json", "--plot", str(plot)])
    report = json.loads(output.getvalue())
    print(f"{report['nodes']} nodes, {report['lookups']} lookups, 5 % of datagrams lost")
    print(f"success rate {report['success_rate']:.2f}, median hops {report['hops_median']}")
    print(f"messages per lookup {report['messages_per_lookup']:.1f}")
    print(f"plot: {plot} ({plot.stat().st_size} bytes)")


def main() -> None:
    if len(sys.argv) > 1:
        run(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as directory:
            run(Path(directory))


if __name__ == "__main__":
    main()
