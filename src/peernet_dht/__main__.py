"""``python -m peernet_dht`` runs the simulator (same options as ``python -m peernet_dht.sim``)."""

import sys

from .sim import main

sys.exit(main())
