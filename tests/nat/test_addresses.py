import ipaddress

import pytest

from peernet_nat import is_public_address, parse_proc_net_route


@pytest.mark.parametrize(
    "address,public",
    [("11.0.0.1", True), ("8.8.8.8", True), ("192.168.1.1", False), ("10.1.2.3", False),
     ("172.16.0.1", False), ("100.64.0.1", False), ("100.127.255.254", False), ("127.0.0.1", False),
     ("::ffff:100.64.1.1", False), ("::ffff:11.0.0.1", True), ("fd00:1::10", False), ("2a00::1", True)],
)
def test_private_and_cgnat_addresses_mean_double_nat(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_default_gateway_from_proc_net_route() -> None:
    table = (
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
        "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\n"
    )
    assert parse_proc_net_route(table) == ipaddress.IPv4Address("192.168.1.1")
    assert parse_proc_net_route("header\nbroken line\neth0 00000000 zz 3\n") is None
