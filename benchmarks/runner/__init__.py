"""Benchmark our product API against the textbook DRF catalogue and the raw floor, with wrk.

    DATABASE_URL=postgres://... python benchmarks/run.py [--duration 30] [--rounds 3]
        [--scenarios list,detail,...] [--output benchmarks/results-M.md]

(``make bench SIZE=S|M`` prepares a database and runs this.) Three servers, each under gunicorn
with the project's gunicorn.conf.py (only the bind address, the app and the logs changed):

- ours: ``project.wsgi`` with ``benchmarks.settings`` (prod settings, plain HTTP on localhost);
- textbook: ``benchmarks/textbook`` (nested serializers, per-row queries, exact counts);
- floor: ``benchmarks/floor/app.py`` (bare WSGI, one prepared statement, orjson).

From the database it builds seeded request lists (category pages, product ids, cursor pages half
the catalogue deep and page one, a search mix, facet pages), checks that the three servers
answer list and detail requests with the same JSON (and stops if not), then per scenario runs
wrk (random path per request, ``benchmarks/wrk_paths.lua``) against each server in turn,
A/B/A/B for ``--rounds`` rounds, and reports the medians: requests per second, p50 and p99
latency, errors, SQL queries per request (counted in process for ours and the textbook, by the
floor itself), statements per request as PostgreSQL counted them (transactions, so including
connection checks), the peak RSS of a gunicorn worker, worker restarts, and ours as a ratio of
each comparator; then the issue's targets (``targets.toml``), met or not.

Uncached scenarios run ours with ``BENCH_RESPONSE_CACHE=off``; ``etag-304`` and ``list-cached``
run it with the response cache on (production's configuration). The floor never caches.

The modules, in the order ``cli.main`` uses them: ``options`` (the command line), ``scenarios``
(what is measured), ``paths`` (the seeded request lists), ``queries`` (SQL counted in process),
``servers`` (gunicorn and its workers), ``verify`` (the same JSON from every server), ``timing``
(a scenario's rounds), ``wrk`` (one wrk run and its output), ``results`` (the runs and their
medians), ``targets`` (``targets.toml`` judged) and ``report``. Importing them sets nothing up:
``cli.main`` sets Django up before the first module that needs it runs.
"""
