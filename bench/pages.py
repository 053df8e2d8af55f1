"""Time each page type in one process, without a server: what one request costs the app.

    python bench/pages.py --db postgres --size 5821 --cache off [page type …]

Uses the databases ``bench/run.py`` seeds and the same URLs (``bench/targets.py``),
through Django's test client: every URL once to warm up, then ``--rounds`` rounds
over them. Prints, per page type, the mean milliseconds and queries per request.
To compare two checkouts, run it from each, alternately, in the same minutes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import run as bench  # noqa: E402 (bench/run.py: the same databases and settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("pages", nargs="*", help="page types (default: all)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--size", type=int, default=5821)
    parser.add_argument("--cache", choices=["on", "off", "cold"], default="off")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the N functions that took longest"
    )
    parser.add_argument("--dump", metavar="DIR", help="also write each page type's profile there")
    parser.add_argument("--sort", default="cumulative", help="profile order: cumulative or tottime")
    parser.add_argument("--queries", action="store_true", help="print the SQL of one request of each URL")
    args = parser.parse_args(argv)

    env = bench.base_env(args.db, args.size)
    if args.cache in ("off", "cold"):
        env["PAGE_CACHE_SECONDS"] = "0"
    if args.cache == "cold":
        env["VALUE_CACHE_SECONDS"] = "0"
    targets = bench.discover(env)["targets"]
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "center.settings"
    os.chdir(ROOT)

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    for page, candidates in targets.items():
        if args.pages and page not in args.pages:
            continue
        paths = candidates[0]
        for path in paths:
            client.get(path)
        started, requests = time.perf_counter(), 0
        profile = cProfile.Profile() if args.profile else None
        if profile:
            profile.enable()
        with CaptureQueriesContext(connection) as queries:
            for _ in range(args.rounds):
                for path in paths:
                    status = client.get(path).status_code
                    requests += 1
        milliseconds = (time.perf_counter() - started) / requests * 1000
        print(f"{page:22s} {milliseconds:7.1f} ms  {len(queries) / requests:5.1f} queries  (HTTP {status})")
        if args.queries:
            for path in paths:
                with CaptureQueriesContext(connection) as one:
                    client.get(path)
                print(f"  {path}")
                for query in one.captured_queries:
                    print(f"    {query['time']} s  {query['sql'][:160]}")
        if profile:
            profile.disable()
            pstats.Stats(profile).sort_stats(args.sort).print_stats(args.profile)
            if args.dump:
                profile.dump_stats(Path(args.dump) / f"{page.replace(' ', '-')}.prof")
    return 0


if __name__ == "__main__":
    sys.exit(main())
