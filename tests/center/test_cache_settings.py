"""Without Redis, each process's local-memory cache is large enough for the pages it serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import django, json
django.setup()
from django.core.cache import cache
for n in range(1200):  # twenty theme pages' cards, ids, counts and fragments, and more
    cache.set(f"entry-{n}", n)
print(json.dumps({"max": cache._max_entries, "kept": sum(cache.get(f"entry-{n}") == n for n in range(1200))}))
"""


def local_cache(**env: str) -> dict:
    environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    environment.update({"DJANGO_SETTINGS_MODULE": "center.settings", "DJANGO_DEBUG": "1", **env})
    output = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_local_memory_cache_keeps_thousands_of_entries():
    """Django's default (300 entries) would cull twenty theme pages' pieces on every visit."""
    assert local_cache() == {"max": 5000, "kept": 1200}


def test_local_memory_cache_size_is_configurable():
    assert local_cache(LOCMEM_CACHE_MAX_ENTRIES="400")["max"] == 400
    assert local_cache(LOCMEM_CACHE_MAX_ENTRIES="400")["kept"] < 1200
