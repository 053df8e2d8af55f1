"""Exit 0 when the given PostgreSQL and Redis URLs answer, 1 otherwise.

Used by ``make test`` to decide whether the PostgreSQL pass can run.
Usage: python -m center.services_check POSTGRES_URL [REDIS_URL]
"""

from __future__ import annotations

import sys


def reachable(postgres_url: str, redis_url: str = "") -> bool:
    import psycopg

    try:
        psycopg.connect(postgres_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
    except psycopg.Error:
        return False
    if redis_url:
        import redis

        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
        except redis.RedisError:
            return False
    return True


if __name__ == "__main__":
    sys.exit(0 if reachable(*sys.argv[1:3]) else 1)
