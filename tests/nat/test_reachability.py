import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from peernet_nat import (
    FEATURE_FIREWALL_BIT,
    MappingMethod,
    PortMapping,
    ReachabilityClass,
    ReachabilityTracker,
    TransportProtocol,
)

PUBLIC_IP = ipaddress.ip_address("11.0.0.50")
NAT_IP = ipaddress.ip_address("11.0.0.1")
LAN_IP = ipaddress.ip_address("192.168.1.10")
LOCAL = (LAN_IP, 4000)


def feed(
    tracker: ReachabilityTracker, reports: list[tuple[str, tuple[object, int]]], local: object, start: float = 0.0
) -> list[object]:
    events = []
    for i, (reporter, observed) in enumerate(reports):
        events += tracker.observe(reporter, observed, local, now=start + i)  # type: ignore[arg-type]
    return events


def mapping(now: float, lifetime: int = 600) -> PortMapping:
    return PortMapping(MappingMethod.PCP, TransportProtocol.UDP, LAN_IP, 4000, NAT_IP, 4100, lifetime, now)


def test_unknown_until_enough_reporters() -> None:
    tracker = ReachabilityTracker()
    assert feed(tracker, [("a", (NAT_IP, 4000)), ("b", (NAT_IP, 4000))], LOCAL) == []
    assert tracker.current.classification is ReachabilityClass.UNKNOWN
    assert not tracker.current.firewalled and tracker.current.external_port == 0
    # the same reporter again does not count twice
    assert feed(tracker, [("a", (NAT_IP, 4000))], LOCAL, start=5) == []


def test_public_host() -> None:
    tracker = ReachabilityTracker()
    events = feed(tracker, [(p, (PUBLIC_IP, 4000)) for p in "abc"], (PUBLIC_IP, 4000))
    assert len(events) == 1
    assert tracker.current.classification is ReachabilityClass.PUBLIC
    assert not tracker.current.firewalled
    assert tracker.current.external_port == 4000


def test_cone_nat_is_consistent_and_firewalled() -> None:
    tracker = ReachabilityTracker()
    feed(tracker, [(p, (NAT_IP, 4000)) for p in "abcd"], LOCAL)
    assert tracker.current.classification is ReachabilityClass.NAT_CONSISTENT
    assert tracker.current.external_endpoint == (NAT_IP, 4000)
    assert tracker.current.firewalled and tracker.current.external_port == 4000
    assert FEATURE_FIREWALL_BIT == 2


def test_symmetric_nat_is_random() -> None:
    tracker = ReachabilityTracker()
    feed(tracker, [(p, (NAT_IP, 30000 + i)) for i, p in enumerate("abcd")], LOCAL)
    assert tracker.current.classification is ReachabilityClass.NAT_RANDOM
    assert tracker.current.firewalled and tracker.current.external_port == 0


def test_working_mapping_wins_at_once_and_reports_its_port() -> None:
    tracker = ReachabilityTracker()
    feed(tracker, [(p, (NAT_IP, 30000 + i)) for i, p in enumerate("abcd")], LOCAL)
    events = tracker.set_mapping(mapping(10.0), now=10.0)
    assert [e.new.classification for e in events] == [ReachabilityClass.MAPPED]
    assert not tracker.current.firewalled and tracker.current.external_port == 4100
    events = tracker.set_mapping(None, now=11.0)
    assert [e.new.classification for e in events] == [ReachabilityClass.NAT_RANDOM]


def test_expired_mapping_no_longer_counts() -> None:
    tracker = ReachabilityTracker()
    tracker.set_mapping(mapping(0.0, lifetime=10), now=0.0)
    assert tracker.current.classification is ReachabilityClass.MAPPED
    for now in (20.0, 21.0, 22.0):
        tracker.tick(now)
    assert tracker.current.classification is ReachabilityClass.UNKNOWN


def test_hysteresis_one_odd_report_does_not_flip() -> None:
    tracker = ReachabilityTracker()
    feed(tracker, [(p, (NAT_IP, 4000)) for p in "abc"], LOCAL)
    assert tracker.current.classification is ReachabilityClass.NAT_CONSISTENT
    # two peers report other ports: evidence says "random" for a moment, the result holds
    assert feed(tracker, [("d", (NAT_IP, 5001)), ("e", (NAT_IP, 5002))], LOCAL, start=10) == []
    assert tracker.current.classification is ReachabilityClass.NAT_CONSISTENT
    # agreeing reports bring the evidence back; the candidate is dropped
    feed(tracker, [(p, (NAT_IP, 4000)) for p in "fgh"], LOCAL, start=20)
    assert tracker.current.classification is ReachabilityClass.NAT_CONSISTENT


def test_lasting_change_is_followed_after_confirmations() -> None:
    tracker = ReachabilityTracker(switch_after=3)
    feed(tracker, [(p, (NAT_IP, 4000)) for p in "abc"], LOCAL)
    events = feed(tracker, [(p, (NAT_IP, 6000 + i)) for i, p in enumerate("defghi")], LOCAL, start=10)
    assert [e.new.classification for e in events] == [ReachabilityClass.NAT_RANDOM]


def test_old_observations_age_out_and_reporters_are_bounded() -> None:
    tracker = ReachabilityTracker(observation_ttl=100, max_reporters=5)
    feed(tracker, [(str(i), (NAT_IP, 4000)) for i in range(50)], LOCAL)
    assert len(tracker._observations) == 5
    for now in (500.0, 501.0, 502.0):
        tracker.tick(now)
    assert tracker.current.classification is ReachabilityClass.UNKNOWN


@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from([4000, 4000, 4001, 4002])), max_size=80))
def test_changes_between_known_states_need_confirmations(reports: list[tuple[int, int]]) -> None:
    tracker = ReachabilityTracker(switch_after=3)
    since_change = 0
    for i, (reporter, port) in enumerate(reports):
        events = tracker.observe(reporter, (NAT_IP, port), LOCAL, now=float(i))
        since_change += 1
        for event in events:
            if event.old.classification is not ReachabilityClass.UNKNOWN:
                assert since_change >= 3
            since_change = 0


def test_reporters_of_one_group_share_one_vote() -> None:
    """Throwaway identities in one source prefix cannot outvote honest reporters elsewhere."""
    tracker = ReachabilityTracker()
    public = (PUBLIC_IP, 4000)
    for i, group in enumerate(["10.1.1", "10.2.2", "10.3.3"]):
        tracker.observe(f"honest{i}", public, public, now=float(i), group=group)
    assert tracker.current.classification is ReachabilityClass.PUBLIC
    for i in range(40):  # random ports reported by 40 identities of one /24
        tracker.observe(f"liar{i}", (PUBLIC_IP, 20_000 + i), public, now=10.0 + i, group="46.0.0")
    assert tracker.classify(60.0).classification is ReachabilityClass.PUBLIC
    assert len(tracker._observations) == 3 + tracker.max_per_group  # the group holds few places
