"""Mail's work in the server rests in proportion to the processor time it took (its own thread's)."""

from __future__ import annotations

import threading
import time

import pytest

from ticketd.core.mail.pacing import MAX_REST_SECONDS, Pacer


def _busy(seconds: float) -> float:
    """Spins for about `seconds` of this thread's processor time; the time it measured."""
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass
    return time.thread_time() - started


def test_a_round_rests_in_proportion_to_its_own_processor_time() -> None:
    rests: list[float] = []
    pacer = Pacer(0.25, rest=lambda _stop, seconds: rests.append(seconds))
    with pacer.round():
        used = _busy(0.02)
    (rest,) = rests
    assert rest == pytest.approx(3 * used, rel=0.25)  # a quarter of the processor: three times as long
    with pacer.round():
        time.sleep(0.05)  # waiting (on a mail server, say) takes no processor time, and earns no rest
    assert rests[1] < 0.01


def test_an_unpaced_worker_never_rests_and_a_long_round_rests_at_most_the_bound() -> None:
    rests: list[float] = []
    with Pacer(1.0, rest=lambda _stop, seconds: rests.append(seconds)).round():
        _busy(0.01)
    assert rests == []
    with Pacer(0.001, rest=lambda _stop, seconds: rests.append(seconds)).round():
        _busy(0.01)
    assert rests == [MAX_REST_SECONDS]
    with pytest.raises(ValueError):
        Pacer(0)


def test_a_rest_waits_on_the_workers_stop_so_a_stop_ends_it() -> None:
    stop = threading.Event()
    waited_on: list[threading.Event] = []
    with Pacer(0.5, rest=lambda event, _seconds: waited_on.append(event)).round(stop):
        _busy(0.01)
    assert waited_on == [stop]
