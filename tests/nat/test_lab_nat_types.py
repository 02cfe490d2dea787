"""The lab's NAT types behave as their names say (RFC 4787 mapping and filtering), measured from
a host behind each router against a rendezvous with two addresses and two ports."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from lab import AGENT, NAT_TYPES, NatLab, lab_unavailable_reason

pytestmark = pytest.mark.natlab

HOSTS = {"r1": "a1", "r2": "b1"}
# (same external port towards every destination, reply from another port admitted, reply from
# another address admitted)
EXPECTED = {
    "cone": (True, False, False),
    "restricted": (True, True, False),
    "fullcone": (True, True, True),
    "symmetric": (False, False, False),
}


@pytest.fixture(scope="module", params=[("restricted", "fullcone"), ("cone", "symmetric")], ids="/".join)
def lab(request: pytest.FixtureRequest) -> Iterator[NatLab]:
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    nat1, nat2 = request.param
    with NatLab(nat1=nat1, nat2=nat2, upnp=False) as lab:
        server = lab.agent("rdv", "rdv", *(f"{lab.public}.{host}:{port}" for host in (10, 11) for port in (3478, 3479)))
        lab.wait_ready(server)
        yield lab


def test_unknown_nat_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown NAT type"):
        NatLab(nat1="carrier-grade")


@pytest.mark.parametrize("router", ["r1", "r2"])
def test_mapping_and_filtering(lab: NatLab, router: str) -> None:
    kind = lab.nat[router]
    assert kind in NAT_TYPES
    host = HOSTS[router]
    local_port = 5100
    seen = set()
    for destination, port in ((10, 3478), (10, 3479), (11, 3478)):
        reply = lab.run(
            host, sys.executable, str(AGENT), "whoami", str(local_port), f"{lab.public}.{destination}", str(port)
        ).stdout
        _, ip, external = reply.split()
        assert ip == lab.wan_ip(router)
        seen.add(int(external))
    same_port, from_other_port, from_other_ip = EXPECTED[kind]
    assert (seen == {local_port}) is same_port, seen  # masquerade keeps a free port
    reply = lab.run(host, sys.executable, str(AGENT), "filtering", "5200", lab.rdv_ip, "3478").stdout.split()
    assert reply == ["port", "yes" if from_other_port else "no", "ip", "yes" if from_other_ip else "no"]
