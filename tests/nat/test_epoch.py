from peernet_nat import EpochTracker


def test_steady_epoch_is_not_a_restart() -> None:
    tracker = EpochTracker()
    assert not tracker.observe(100, now=10.0)
    assert not tracker.observe(160, now=70.0)
    assert not tracker.observe(161, now=70.5)


def test_epoch_going_backwards_is_a_restart() -> None:
    tracker = EpochTracker()
    tracker.observe(500, now=0.0)
    assert tracker.observe(3, now=20.0)
    assert not tracker.observe(4, now=21.0)


def test_epoch_drifting_from_our_clock_is_a_restart() -> None:
    tracker = EpochTracker()
    tracker.observe(10, now=0.0)
    assert tracker.observe(12, now=100.0)  # server counted 2 s while 100 s passed here
    tracker.observe(10, now=0.0)
    assert tracker.observe(1000, now=1.0)


def test_one_second_jitter_is_tolerated() -> None:
    tracker = EpochTracker()
    tracker.observe(10, now=0.0)
    assert not tracker.observe(9, now=0.2)
