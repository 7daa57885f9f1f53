"""axhw.infra.runner: one runner for the sweep and the DSE (serial / pool, here-items, signals)."""

import multiprocessing
import os
import signal

import pytest

from axhw.infra.runner import Interrupted, Runner, _signals_deferred, interruptible


def square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_item_once_and_here_items_stay_here(jobs):
    # other tests in this worker process may have children of their own: only ours must be gone
    before = set(multiprocessing.active_children())
    got = {}
    with Runner(jobs=jobs, progress=False) as runner:
        runner.run(square_and_pid, range(7), lambda item, r: got.setdefault(item, r), total=7,
                   here=lambda item: item % 3 == 0)
    assert {k: v[0] for k, v in got.items()} == {i: i * i for i in range(7)}
    here = {k for k, (_, pid) in got.items() if pid == os.getpid()}
    assert here == ({0, 1, 2, 3, 4, 5, 6} if jobs == 1 else {0, 3, 6})
    assert not set(multiprocessing.active_children()) - before


def test_an_interrupt_stops_the_pool_workers():
    before = set(multiprocessing.active_children())

    def stop(item, result):
        raise KeyboardInterrupt

    with pytest.raises(Interrupted, match=r"^interrupted; 0 of 9 done, re-run to resume$") as exc:
        with interruptible(lambda: "0 of 9 done"), Runner(jobs=2, progress=False) as runner:
            runner.run(square_and_pid, range(9), stop, total=9)
    assert exc.value.exit_code == 130
    assert not set(multiprocessing.active_children()) - before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_during_a_spawn_are_deferred_not_lost(sig):
    """A signal inside the block (where workers are spawned) acts right after it, not inside."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    reached_end = False
    with pytest.raises(Interrupted) as exc:
        with interruptible(lambda: "3 of 4 points done"):
            with _signals_deferred():
                os.kill(os.getpid(), sig)
                reached_end = True
    assert reached_end
    assert exc.value.exit_code == 128 + sig and "3 of 4 points done" in str(exc.value)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
