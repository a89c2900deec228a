"""The retry helper every remote connector uses: backoff, reports, and what it never retries."""

from __future__ import annotations

import threading

import pytest

from sqlflowc.retry import (
    NO_RETRIES,
    RetryEvent,
    RetryPolicy,
    call_with_retries,
    on_stop,
    stop_run,
    stop_waits_on,
    stopped,
    stops_with,
)


class Transient(Exception):
    pass


class Permanent(Exception):
    pass


def flaky(failures: list[Exception], result: str = "done"):
    """An action raising each of `failures` in turn, then returning `result`."""
    calls: list[int] = []

    def action() -> str:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return result

    return action, calls


def run(action, policy: RetryPolicy, events: list[RetryEvent], waits: list[float]):
    return call_with_retries(
        action,
        policy=policy,
        is_transient=lambda e: isinstance(e, Transient),
        what="load_orders",
        on_retry=events.append,
        sleep=waits.append,
    )


def test_transient_faults_are_retried_with_doubling_waits_and_reported() -> None:
    action, calls = flaky([Transient("connection reset"), Transient("admin shutdown")])
    events: list[RetryEvent] = []
    waits: list[float] = []
    assert run(action, RetryPolicy(retries=3, delay=1.0), events, waits) == "done"
    assert len(calls) == 3
    assert waits == [1.0, 2.0]
    assert [str(e) for e in events] == [
        "retrying load_orders (1/3) in 1 s: connection reset",
        "retrying load_orders (2/3) in 2 s: admin shutdown",
    ]


def test_the_last_transient_fault_propagates_after_the_last_retry() -> None:
    faults: list[Exception] = [Transient(f"reset {n}") for n in range(1, 5)]
    action, calls = flaky(faults)
    events: list[RetryEvent] = []
    waits: list[float] = []
    with pytest.raises(Transient, match="reset 3"):
        run(action, RetryPolicy(retries=2, delay=0.5), events, waits)
    assert len(calls) == 3  # the first attempt and two retries
    assert waits == [0.5, 1.0]
    assert [e.retry for e in events] == [1, 2]


def test_permanent_faults_fail_at_once() -> None:
    action, calls = flaky([Permanent("password authentication failed")])
    events: list[RetryEvent] = []
    with pytest.raises(Permanent):
        run(action, RetryPolicy(retries=5), events, [])
    assert len(calls) == 1
    assert events == []


def test_no_retries_means_one_attempt() -> None:
    action, calls = flaky([Transient("reset")])
    with pytest.raises(Transient):
        run(action, NO_RETRIES, [], [])
    assert len(calls) == 1


def test_waits_are_capped() -> None:
    policy = RetryPolicy(retries=10, delay=1.0, max_delay=5.0)
    assert [policy.wait(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_interrupts_are_never_retried() -> None:
    action, calls = flaky([KeyboardInterrupt()])  # type: ignore[list-item]
    with pytest.raises(KeyboardInterrupt):
        call_with_retries(
            action,
            policy=RetryPolicy(),
            is_transient=lambda e: True,
            what="x",
            sleep=lambda s: None,
        )
    assert len(calls) == 1


def in_thread(body):  # type: ignore[no-untyped-def]
    """`body()` in a thread of its own (a step's: its context is fresh); what it returned."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(body()))
    thread.start()
    thread.join(timeout=30)
    return out[0]


def test_a_fault_once_the_run_stopped_is_not_retried() -> None:
    """The attempt in progress when the run stopped fails: its error propagates, and no retry
    is reported or waited for."""
    stop = threading.Event()
    events: list[RetryEvent] = []
    waits: list[float] = []

    def attempt() -> str:
        stop.set()  # the run stops while the attempt runs
        raise Transient("connection reset")

    def step() -> object:
        stop_waits_on(stop)
        try:
            return run(attempt, RetryPolicy(retries=3), events, waits)
        except Transient as err:
            return err

    ended = in_thread(step)
    assert isinstance(ended, Transient) and (events, waits) == ([], [])


def test_on_stop_cancels_the_waits_of_the_run_that_stopped() -> None:
    cancelled = threading.Event()
    other = threading.Event()
    stop = threading.Event()

    other_cancelled = threading.Event()
    closed_cancelled = threading.Event()

    def step(event: threading.Event, cancel: threading.Event) -> object:
        stop_waits_on(event)
        return on_stop(cancel.set)

    with stops_with(stop), stops_with(other):
        watch = in_thread(lambda: step(stop, cancelled))
        closed = in_thread(lambda: step(stop, closed_cancelled))
        closed.close()  # type: ignore[attr-defined]
        elsewhere = in_thread(lambda: step(other, other_cancelled))
        assert not stopped() and not cancelled.is_set()
        stop_run(other)
        assert other_cancelled.wait(30)
        assert not cancelled.is_set(), "another run's stop cancels nothing of this one"
        stop_run(stop)
        assert cancelled.wait(30), "the watch's cancel was called"
        assert stopped(), "a thread of no step sees that a run of the process stopped"
        assert not closed_cancelled.is_set(), "a closed watch cancels nothing"
        watch.close()  # type: ignore[attr-defined]
        elsewhere.close()  # type: ignore[attr-defined]


def test_describe_masks_and_flattens_the_message() -> None:
    action, _ = flaky([Transient("could not connect\n  password=hunter2 rejected")])
    events: list[RetryEvent] = []
    call_with_retries(
        action,
        policy=RetryPolicy(retries=1, delay=0),
        is_transient=lambda e: True,
        what="export daily",
        on_retry=events.append,
        describe=lambda e: str(e).replace("hunter2", "***"),
        sleep=lambda s: None,
    )
    assert (
        str(events[0])
        == "retrying export daily (1/1) in 0 s: could not connect password=*** rejected"
    )


@pytest.mark.parametrize(("retries", "delay"), [(-1, 1.0), (3, -0.5)])
def test_bad_policies_are_refused(retries: int, delay: float) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(retries=retries, delay=delay)
