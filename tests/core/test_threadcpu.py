"""CPU time per thread (``vistream bench``'s thread table)."""

from __future__ import annotations

import sys
import time

import pytest

from vistream.core.element import streaming_thread
from vistream.tools.threadcpu import ThreadCpu

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread CPU comes from /proc")


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_streaming_thread_ending_between_samples_is_counted():
    """A thread that starts and ends within one sampling interval is gone from /proc before any sample: it
    reports its own CPU time as it ends."""
    cpu = ThreadCpu(interval=60.0).start()  # no sample between start and stop
    t = streaming_thread(lambda: _burn(0.05), "vistream:short")
    t.start()
    t.join()
    stats = {s.name: s for s in cpu.stop()}
    assert stats["vistream:short"].threads == 1 and stats["vistream:short"].cpu_s >= 0.04


def test_threads_that_ended_before_the_sampler_started_are_not_counted():
    t = streaming_thread(lambda: _burn(0.02), "vistream:before")
    t.start()
    t.join()
    cpu = ThreadCpu(interval=60.0).start()
    assert "vistream:before" not in {s.name for s in cpu.stop()}
