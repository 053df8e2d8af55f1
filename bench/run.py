"""The benchmark behind ``make bench``.

For each database (SQLite, PostgreSQL) and index size (5,821 and 100,000
publications) it seeds a dedicated database once (reused when it already holds
that many publications), starts gunicorn on 127.0.0.1 with debug off, and runs
wrk (16 connections, a few seconds) against each page type, with the page
cache on and off. Each row reports requests per second, p50 and p99 latency,
errors, the ratio to ``/bench/ping`` (a bare Django view answered by the same
server, in turns with the page: the ceiling of this stack on this machine) and
the largest worker RSS seen. The table goes to the terminal and the whole result
to ``bench/results/bench-<time>.json``.

    python bench/run.py --sizes 5821 --dbs postgres --duration 5

Run ``python bench/run.py --help`` for every option.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
PAGES = [
    "home",
    "index",
    "index filtered",
    "index page 200",
    "publication",
    "author",
    "theme",
    "search",
    "feed",
    "sitemap",
    "sitemap page",
    "oai-pmh ListRecords",
    "frame (cookies page)",  # the site's frame around a short fixed text: what every page pays
]


# Setting up ----------------------------------------------------------------


def database_url(db: str, size: int) -> str:
    if db == "sqlite":
        return f"sqlite:///{DATA / f'bench-{size}.sqlite3'}"
    return f"{PG_BASE}/center_bench_{size}"


def base_env(db: str, size: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key-not-for-production-use-0123456789",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url(db, size),
        "DATABASE_CONN_MAX_AGE": "600",
        "MEDIA_ROOT": str(DATA / "media"),
        "STATIC_ROOT": str(DATA / "static"),
        "CONTENT_STATE_FILE": str(DATA / f"content-state-{db}-{size}.json"),
        "LOG_LEVEL": "WARNING",
        "BENCH_PING": "1",
        # One load generator on one address: per-visitor limits would turn the run into 429s.
        "SEARCH_RATE_LIMIT": "100000000",
        "EXPORT_RATE_LIMIT": "100000000",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    if db == "postgres":
        env["REDIS_URL"] = REDIS_URL  # the production set-up: PostgreSQL with Redis
    return env


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def create_pg_database(name: str) -> None:
    """Create the PostgreSQL database ``name`` on ``PG_BASE`` unless it exists."""
    exists = subprocess.run(
        ["psql", f"{PG_BASE}/postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{name}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", f"{PG_BASE}/postgres", "-qc", f'CREATE DATABASE "{name}"'], check=True)


def published_count(env: dict) -> int:
    """How many publications the public sees in the database ``env`` points at."""
    script = "from publications.models import Publication; print(Publication.objects.published().count())"
    return int(manage(env, "shell", "-c", script, capture=True).split()[-1])


def ensure_database(db: str, size: int, env: dict, log, *, reindex: bool = False) -> float | None:
    """Create, migrate and seed the benchmark database unless it already holds ``size`` publications.

    Returns the seconds seeding took, or None when the database was reused.
    """
    DATA.mkdir(parents=True, exist_ok=True)
    if db == "postgres":
        create_pg_database(f"center_bench_{size}")
    migrated = manage(env, "migrate", "--noinput", "-v1", capture=True)
    count = published_count(env)
    if count == size:
        log(f"  {db} {size:,}: already seeded")
        # New migrations may add derived tables (the search index): rebuild what seed_demo derives.
        if ("Applying publications." in migrated or reindex) and "rebuild_search_index" in manage(
            env, "help", capture=True
        ):
            log(f"  {db} {size:,}: rebuilding the search index...")
            manage(env, "rebuild_search_index")
        return None
    log(f"  {db} {size:,}: seeding (found {count:,} published)...")
    started = time.monotonic()
    manage(env, "seed_demo", "--publications", str(size), "--reset")
    seconds = time.monotonic() - started
    log(f"  {db} {size:,}: seeded in {seconds:.0f} s")
    return seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_connections(connections: int, workers: int, threads: int) -> int:
    """How many connections one gthread worker may hold: its share of the load's, and one more
    than its threads.

    gunicorn's gthread worker accepts every connection it can (1,000 by default), whatever its
    threads are doing, and a kept-alive connection stays with the worker that accepted it. When
    the load's connections open together, one worker sometimes took all 16 of them: the run then
    went at one core's pace (half the requests, twice the median latency) while the others idled.
    Capped at its share, a worker leaves the rest to the others.
    """
    return max(-(-connections // workers), threads + 1)


class Server:
    """gunicorn on a loopback port, with a sampler of its workers' RSS."""

    def __init__(
        self,
        env: dict,
        *,
        workers: int,
        threads: int,
        connections: int | None = None,
        app: str = "center.wsgi:application",
        ready: str = "/bench/ping",
    ):
        self.port = free_port()
        self.env = env
        self.ready = ready
        command = [
            PYTHON,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ]
        if threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(threads)]
            if connections:
                command += ["--worker-connections", str(worker_connections(connections, workers, threads))]
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.max_rss_kb = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"gunicorn exited:\n{self.log.read().decode(errors='replace')}")
            try:
                status, _ = fetch(self.base, self.ready)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not answer {self.ready} within 60 s")
        self._sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def worker_pids(self) -> list[int]:
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in children.split()]

    def rss_kb(self) -> int:
        largest = 0
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                largest = max(largest, int(match.group(1)))
        return largest

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.max_rss_kb = max(self.max_rss_kb, self.rss_kb())

    def reset_peak(self) -> None:
        self.max_rss_kb = self.rss_kb()


def fetch(base: str, path: str, timeout: float = 30) -> tuple[int, bytes]:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# Load generation -------------------------------------------------------------


WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def run_wrk(base: str, paths: list[str], *, duration: int, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % ", ".join(json.dumps(path) for path in paths))
    try:
        output = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "5s",
                "--latency",
                "-s",
                script.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    return parse_wrk(output)


def _millis(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> dict:
    def latency(percent: str) -> float | None:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        return _millis(*match.groups()) if match else None

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(requests.group(1)) if requests else 0,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": errors,
    }


def run_python_load(base: str, paths: list[str], *, duration: int, connections: int, threads: int) -> dict:
    """A bounded fallback when wrk is not installed: one keep-alive client per connection."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client(offset: int) -> None:
        nonlocal errors
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        i = offset
        mine, failed = [], 0
        while time.monotonic() < deadline:
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=5)
                continue
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)
            errors += failed

    workers = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def percentile(p: float) -> float | None:
        return latencies[min(int(len(latencies) * p), len(latencies) - 1)] if latencies else None

    return {
        "rps": len(latencies) / elapsed,
        "requests": len(latencies),
        "p50_ms": percentile(0.5),
        "p99_ms": percentile(0.99),
        "errors": errors,
    }


# The run ---------------------------------------------------------------------


def prepare_term_index(env: dict) -> None:
    """Build the search's term index and share it through the cache, as a running site has it
    after its first search (``publications.term_index.prepare``; nothing below 20,000 publications).

    Left to the first search, the build runs in the background: at 100,000 publications about 5 s of
    PostgreSQL's CPU (0.3 s of Python's), during the search page's measurement, which it cost about
    a quarter of its requests.
    """
    subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", "from publications import term_index; term_index.prepare()"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def discover(env: dict) -> dict:
    output = subprocess.run(
        [PYTHON, "bench/targets.py"], cwd=ROOT, env=env, check=True, text=True, capture_output=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def choose_paths(server: Server, options: list[list[str]]) -> tuple[list[str] | None, str]:
    """The first candidate URL list whose URLs all answer 200; else why not."""
    last = "missing"
    for paths in options:
        statuses = []
        for path in paths:
            try:
                status, _ = fetch(server.base, path)
            except OSError as error:
                status = f"{type(error).__name__}"
            statuses.append(status)
        if all(status == 200 for status in statuses):
            return paths, "ok"
        if any(status not in (404,) for status in statuses):
            bad = next(status for status in statuses if status != 200)
            last = f"HTTP {bad} on {paths[statuses.index(bad)]}"
    return None, last


def warm_up(load, base: str, paths: list[str], measure: dict, *, most: int = 6) -> int:
    """Load the page in runs of 1 s until two in a row agree within 20 % (at most ``most`` runs),
    and return how many it took.

    Each worker keeps its own pieces (its recent values, the facet index, and on SQLite every
    cache), so the first seconds of a page with 20 URLs are each worker making its own: measured
    then, a page looks slower than it is for the rest of its life.
    """
    previous = None
    for runs in range(1, most + 1):
        rps = load(base, paths, **{**measure, "duration": 1})["rps"]
        if previous is not None and abs(rps - previous) <= 0.2 * max(rps, previous):
            return runs
        previous = rps
    return most


def against_ceiling(load, base: str, paths: list[str], measure: dict) -> tuple[dict, dict]:
    """The page and the ceiling (``/bench/ping``), measured in turns: 2 s of the page, 1 s of the
    ceiling, until the page has had its whole duration.

    The machine is shared and noisy, and a slow spell of a few seconds would otherwise fall on
    the page or on the ceiling alone; in turns, both see it.
    """
    pages, pings, left = [], [], measure["duration"]
    while left > 0:
        pages.append(load(base, paths, **{**measure, "duration": min(2, left)}))
        pings.append(load(base, ["/bench/ping"], **{**measure, "duration": 1}))
        left -= 2
    return combined(pages), combined(pings)


def combined(runs: list[dict]) -> dict:
    """One figure for several runs of the same load: requests over the time they took, the
    median of their medians (weighted by requests), the worst p99, every error."""
    requests = sum(run["requests"] for run in runs)
    seconds = sum(run["requests"] / run["rps"] for run in runs if run["rps"])
    medians = sorted((run["p50_ms"], run["requests"]) for run in runs if run["p50_ms"] is not None)
    p50, counted = None, 0
    for median, weight in medians:
        counted += weight
        if counted * 2 >= requests:
            p50 = median
            break
    p99s = [run["p99_ms"] for run in runs if run["p99_ms"] is not None]
    return {
        "rps": requests / seconds if seconds else 0.0,
        "requests": requests,
        "p50_ms": p50,
        "p99_ms": max(p99s) if p99s else None,
        "errors": sum(run["errors"] for run in runs),
    }


def bench_server(db: str, size: int, cache: str, args, log) -> list[dict]:
    env = base_env(db, size)
    if cache in ("off", "cold"):
        env["PAGE_CACHE_SECONDS"] = "0"
    if cache == "cold":  # nothing derived from the content is kept either: every request computes
        env["VALUE_CACHE_SECONDS"] = "0"
    if db == "postgres":
        subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], capture_output=True, check=False)
        prepare_term_index(env)
    targets = discover(env)["targets"]
    load = run_wrk if shutil.which("wrk") and not args.python_load else run_python_load
    rows = []
    with Server(env, workers=args.workers, threads=args.threads, connections=args.connections) as server:
        measure = {"duration": args.duration, "connections": args.connections, "threads": 2}
        load(server.base, ["/bench/ping"], **{**measure, "duration": 1})  # warm up
        server.reset_peak()
        ping = load(server.base, ["/bench/ping"], **measure)
        ping_rss = server.max_rss_kb
        rows.append(
            {
                "db": db,
                "size": size,
                "cache": cache,
                "page": "bare Django (ping)",
                **ping,
                "ratio": 1.0,
                "rss_mb": round(ping_rss / 1024, 1),
                "status": "ok",
                "paths": ["/bench/ping"],
            }
        )
        log(format_row(rows[-1]))
        for page in args.pages:
            paths, status = choose_paths(server, targets.get(page, []))
            if paths is None:
                rows.append({"db": db, "size": size, "cache": cache, "page": page, "status": status})
                log(format_row(rows[-1]))
                continue
            try:  # every URL once (fills the page cache), then a short warm-up
                for path in paths:
                    fetch(server.base, path)
            except OSError as error:
                rows.append(
                    {
                        "db": db,
                        "size": size,
                        "cache": cache,
                        "page": page,
                        "status": f"{type(error).__name__} while warming up {path}",
                    }
                )
                log(format_row(rows[-1]))
                continue
            warm_up(load, server.base, paths, measure)
            server.reset_peak()
            result, ceiling = against_ceiling(load, server.base, paths, measure)
            rows.append(
                {
                    "db": db,
                    "size": size,
                    "cache": cache,
                    "page": page,
                    **result,
                    "ping_rps": ceiling["rps"],
                    "ratio": round(result["rps"] / ceiling["rps"], 3) if ceiling["rps"] else None,
                    "rss_mb": round(server.max_rss_kb / 1024, 1),
                    "status": "ok",
                    "paths": paths,
                }
            )
            log(format_row(rows[-1]))
    return rows


HEADER = (
    f"{'db':<9}{'size':>8} {'cache':<6}{'page':<22}"
    f"{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'ratio':>7}{'RSS MB':>8}"
)


def format_row(row: dict) -> str:
    start = f"{row['db']:<9}{row['size']:>8} {row['cache']:<6}{row['page']:<22}"
    if row["status"] != "ok":
        return f"{start}{row['status']}"

    def number(value, pattern):
        return format(value, pattern) if value is not None else "-"

    return (
        f"{start}{row['rps']:>9.0f}{number(row['p50_ms'], '>9.1f')}{number(row['p99_ms'], '>9.1f')}"
        f"{row['errors']:>8}{number(row['ratio'], '>7.2f')}{number(row['rss_mb'], '>8.0f')}"
    )


def scale_summary(rows: list[dict]) -> list[dict]:
    """Each page's throughput at the largest size as a share of the smallest, per db and cache mode."""
    summary = []
    keyed = {(r["db"], r["cache"], r["page"], r["size"]): r for r in rows if r["status"] == "ok"}
    sizes = sorted({r["size"] for r in rows})
    if len(sizes) < 2:
        return summary
    small, large = sizes[0], sizes[-1]
    for (db, cache, page, size), row in keyed.items():
        if size != small or (db, cache, page, large) not in keyed:
            continue
        big = keyed[(db, cache, page, large)]
        # Compare ratios to the ceiling measured in the same run: the machine is noisy.
        kept = big["ratio"] / row["ratio"] if row.get("ratio") and big.get("ratio") else None
        summary.append(
            {
                "db": db,
                "cache": cache,
                "page": page,
                "small": small,
                "large": large,
                "rps_small": row["rps"],
                "rps_large": big["rps"],
                "kept": kept,
            }
        )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="5821,100000", help="index sizes, comma-separated")
    parser.add_argument("--dbs", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument(
        "--cache",
        default="on,off,cold",
        help="on: page cache; off: page cache off; cold: page cache and every derived-value cache off",
    )
    parser.add_argument("--pages", default=",".join(PAGES), help="page types, comma-separated")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (gthread when > 1)")
    parser.add_argument("--reindex", action="store_true", help="rebuild the search index of reused databases")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    args = parser.parse_args(argv)
    # Stopped from outside: leave through the context managers, which stop gunicorn.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.pages = [page.strip() for page in args.pages.split(",") if page.strip()]
    sizes = [int(size) for size in args.sizes.split(",")]
    dbs = [db.strip() for db in args.dbs.split(",")]
    modes = [mode.strip() for mode in args.cache.split(",")]

    def log(line: str) -> None:
        print(line, flush=True)

    load_name = "wrk" if shutil.which("wrk") and not args.python_load else "python (wrk not found)"
    held_each = worker_connections(args.connections, args.workers, args.threads)
    held = f", at most {held_each} connections each" if args.threads > 1 else ""
    log(
        f"gunicorn: {args.workers} workers x {args.threads} threads{held} on 127.0.0.1; load: {load_name}, "
        f"{args.connections} connections, {args.duration} s per page; {os.cpu_count()} CPUs"
    )
    env = base_env(dbs[0], sizes[0])
    manage(env, "collectstatic", "--noinput", "-v0")
    seeding = {}
    for db in dbs:
        for size in sizes:
            seconds = ensure_database(db, size, base_env(db, size), log, reindex=args.reindex)
            seeding[f"{db} {size}"] = None if seconds is None else round(seconds, 1)
    log("")
    log(HEADER)
    rows = []
    for db in dbs:
        for size in sizes:
            for mode in modes:
                rows += bench_server(db, size, mode, args, log)
    summary = scale_summary(rows)
    if summary:
        log("")
        log(f"{'db':<9} {'cache':<6}{'page':<22}{'kept at largest size (ratio/ratio)':>36}")
        for item in summary:
            kept = f"{item['kept']:.0%}" if item["kept"] is not None else "-"
            log(f"{item['db']:<9} {item['cache']:<6}{item['page']:<22}{kept:>36}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "started": stamp,
                "cpus": os.cpu_count(),
                "workers": args.workers,
                "threads": args.threads,
                "worker_connections": held_each if args.threads > 1 else None,
                "connections": args.connections,
                "duration": args.duration,
                "load": load_name,
                "seeding_seconds": seeding,  # None: the database was already seeded
                "rows": rows,
                "scale": summary,
            },
            indent=2,
        )
    )
    log(f"\nJSON: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
