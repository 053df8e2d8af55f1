"""Measure search latency on the current database: N one- to three-word queries."""

from __future__ import annotations

import random
import re
import statistics
import time

from django.core.cache import cache
from django.core.management import BaseCommand, CommandError

from center import caching
from publications import cards, search, term_index
from publications.models import Publication


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Command(BaseCommand):
    help = (
        "Run N one- to three-word searches (words drawn from the titles and abstracts of the index) "
        "against the current database and print median and p95 latency in ms. Each search counts the "
        "matches, computes the facet counts (kind, theme, region, year) and fetches the first page of "
        "20 ranked hits with snippets rendered as cards, as the /search/ page does, with every cache cleared "
        "first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--queries", type=int, default=200, help="How many searches (default 200).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed for the queries.")
        parser.add_argument("--warmup", type=int, default=20, help="Searches run first and not counted.")
        parser.add_argument("--sort", choices=["relevance", "date"], default="relevance")
        parser.add_argument("--verbose-queries", action="store_true", help="Print each query and its time.")

    def handle(self, *args, queries, seed, warmup, sort, verbose_queries, **options):
        rng = random.Random(seed)  # noqa: S311 - reproducible queries, not secrets
        words = self._vocabulary(rng)
        if not words:
            raise CommandError("The database has no publications to draw words from.")
        total = Publication.objects.published().count()
        texts = []
        for _ in range(warmup + queries):
            count = rng.choice([1, 1, 2, 2, 3])
            texts.append(" ".join(rng.sample(words, count)))
        held = term_index.prepare()  # built once, as a running site has it after its first search
        timings, facet_timings, rank_timings, matches = [], [], [], []
        for number, text in enumerate(texts):
            # Cold: no counts, facets or rankings computed earlier. The content version stays (with
            # Redis it lives in the cache too): a new one would rebuild the facet index every time.
            state = cache.get(caching.STATE_KEY)
            cache.clear()
            if state is not None:
                cache.set(caching.STATE_KEY, state, timeout=None)
            started = time.perf_counter()
            result = search.search(text, sort=sort)
            counted = time.perf_counter()
            page = result[0:20]  # the order of the hits
            ranked = time.perf_counter()
            hits = cards.render_hits(page)  # what the page shows: its first 20 hits
            elapsed = (time.perf_counter() - started) * 1000
            if number < warmup:
                continue
            timings.append(elapsed)
            facet_timings.append((counted - started) * 1000)
            rank_timings.append((ranked - counted) * 1000)
            matches.append(result.total)
            if verbose_queries:
                line = f"{elapsed:8.1f} ms  {result.total:7,} matches  {len(hits):2} shown  {text}"
                self.stdout.write(line)
        self.stdout.write(
            f"{len(timings)} searches on {total:,} published publications "
            f"(engine: {search._engine().vendor}, sort: {sort}, after {warmup} warm-up searches)"
        )
        if held is not None:
            self.stdout.write(f"  term index: {len(held.rows)} lexemes, {held.nbytes / 2**20:.1f} MB")
        self.stdout.write(
            f"  whole search (count + facets + page of 20 hit cards with snippets): "
            f"median {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms, "
            f"max {max(timings):.1f} ms"
        )
        self.stdout.write(
            f"  count + facets alone: median {statistics.median(facet_timings):.1f} ms, "
            f"p95 {percentile(facet_timings, 0.95):.1f} ms"
        )
        self.stdout.write(
            f"  ranking alone: median {statistics.median(rank_timings):.1f} ms, "
            f"p95 {percentile(rank_timings, 0.95):.1f} ms; the page of hit cards: the rest"
        )
        self.stdout.write(
            f"  matches per query: median {statistics.median(matches):,.0f}, max {max(matches):,}, "
            f"queries with none: {sum(1 for value in matches if not value)}"
        )

    @staticmethod
    def _vocabulary(rng: random.Random) -> list[str]:
        """Distinct words of a sample of titles and abstracts (as visitors would type them)."""
        ids = list(Publication.objects.order_by("pk").values_list("pk", flat=True))
        if not ids:
            return []
        picks = rng.sample(ids, min(300, len(ids)))
        rows = Publication.objects.filter(pk__in=picks).values_list("title", "abstract")
        words = set()
        for title, abstract in rows:
            for word in re.findall(r"[^\W\d_]{3,}", f"{title} {abstract}"):
                if word.lower() not in search.STOP_WORDS:
                    words.add(word.lower())
        return sorted(words)
