"""The benchmark's arithmetic (bench/run.py): a page and its ceiling measured in turns."""

from __future__ import annotations

import http.client
import importlib.util
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def run(rps: float, seconds: float, p50: float, p99: float, errors: int = 0) -> dict:
    return {"rps": rps, "requests": round(rps * seconds), "p50_ms": p50, "p99_ms": p99, "errors": errors}


def test_combined_runs_count_requests_over_their_time_and_keep_the_worst_p99():
    """A slow second slice weighs by the time it took; p99 is the worst slice's, errors add up."""
    figures = bench.combined(
        [run(1000, 2, 10.0, 30.0), run(250, 2, 40.0, 90.0, errors=3), run(1000, 1, 12.0, 20.0)]
    )
    assert figures["requests"] == 3500
    assert figures["rps"] == pytest.approx(3500 / 5)
    assert figures["p50_ms"] == 10.0  # 2,000 of the 3,500 requests had a median of 10 ms
    assert figures["p99_ms"] == 90.0
    assert figures["errors"] == 3


def test_page_and_ceiling_take_turns_for_the_whole_duration():
    """5 s of a page: slices of 2, 2 and 1 s, each followed by 1 s of the ceiling."""
    calls = []

    def load(base, paths, *, duration, connections, threads):
        calls.append((paths[0], duration))
        return run(500 if paths[0] == "/page/" else 2000, duration, 5.0, 9.0)

    page, ceiling = bench.against_ceiling(
        load, "http://x", ["/page/"], {"duration": 5, "connections": 16, "threads": 2}
    )
    assert calls == [
        ("/page/", 2),
        ("/bench/ping", 1),
        ("/page/", 2),
        ("/bench/ping", 1),
        ("/page/", 1),
        ("/bench/ping", 1),
    ]
    assert page["rps"] == pytest.approx(500)
    assert ceiling["rps"] == pytest.approx(2000)
    assert page["rps"] / ceiling["rps"] == pytest.approx(0.25)


def test_warm_up_lasts_until_two_runs_agree():
    """A page whose workers are still making their pieces is loaded until its throughput settles."""
    figures = iter([100, 400, 900, 1000, 1010, 5])

    def load(base, paths, *, duration, connections, threads):
        assert duration == 1
        return run(next(figures), 1, 5.0, 9.0)

    assert bench.warm_up(load, "http://x", ["/page/"], {"duration": 5, "connections": 16, "threads": 2}) == 4
    steady = iter([1000, 1000])
    assert (
        bench.warm_up(lambda *a, **k: run(next(steady), 1, 5.0, 9.0), "http://x", ["/p/"], {"duration": 5})
        == 2
    )
    never = iter([100, 300, 900, 2700, 100, 300, 900])
    assert (
        bench.warm_up(lambda *a, **k: run(next(never), 1, 5.0, 9.0), "http://x", ["/p/"], {"duration": 5})
        == 6
    )


def test_a_worker_holds_its_share_of_the_connections_and_more_than_its_threads():
    assert bench.worker_connections(16, 3, 2) == 6
    assert bench.worker_connections(32, 4, 2) == 8
    assert bench.worker_connections(2, 3, 2) == 3


def test_connections_opened_together_are_spread_over_the_workers():
    """16 kept-alive connections opened at once: none of the 3 workers holds more than its share
    (without the cap, one worker sometimes took all 16)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(3):
        with bench.Server(
            env, workers=3, threads=2, connections=16, app="tests.center.pid_app:application", ready="/"
        ) as server:
            connections = [
                http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(16)
            ]
            for connection in connections:
                connection.connect()
            time.sleep(0.5)  # every worker has had its chance to accept
            with ThreadPoolExecutor(16) as pool:
                pids = list(pool.map(_pid_over, connections))
            for connection in connections:
                connection.close()
        held = Counter(pids)
        assert len(pids) == 16
        assert max(held.values()) <= 6, held


def _pid_over(connection: http.client.HTTPConnection) -> str:
    connection.request("GET", "/")
    return connection.getresponse().read().decode()
