"""Running requests at the same moment, for the rules about races (throttles, one-time codes)."""

from __future__ import annotations

import threading

from django.db import connections


def in_parallel(requests):
    """Run the callables at the same moment, each in its own thread (and database connection)."""
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)
    errors = []

    def run(i, request):
        try:
            barrier.wait()
            results[i] = request()
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results
