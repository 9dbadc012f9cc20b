"""prometheus_client's multi-process mode, with each dead worker's files folded into one.

Every gunicorn worker writes its counters and histograms to files of its own in
``PROMETHEUS_MULTIPROC_DIR``, and a scrape reads every file there. A worker that exits leaves its
files behind (its counts are still part of the totals), so with ``max_requests`` recycling
workers the folder would grow by two files a worker, and every scrape would read them all, for
as long as the server runs. When a worker exits, ``fold_dead_worker`` (gunicorn's ``child_exit``
hook) adds its counts into ``counter_archive.db`` / ``histogram_archive.db`` and removes its
files: the folder holds the live workers' files and one archive per type.

A scrape must not see a count twice (the archive already holding the dead worker's counts
while its file is still there) nor not at all: Prometheus would take the dip for a counter
reset. So scrapes read under a shared lock (``LockedMultiProcessCollector``) and folding
happens under an exclusive one; the workers' own writes take no lock.

Only the master process folds, one worker at a time. Gauges are left to prometheus_client's
``mark_process_dead``, which removes a dead worker's live gauges.

Imported by ``gunicorn.conf.py`` before Django is set up: nothing here may need Django.
"""

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

# Not *.db: prometheus_client reads every *.db file of the folder as metrics.
LOCK_FILE = "folding.lock"
# The file types that hold sums over time, safe to add up across processes.
FOLDED_TYPES = ("counter", "histogram", "summary")


@contextlib.contextmanager
def folder_lock(directory: str, *, exclusive: bool) -> Iterator[None]:
    """Hold the folder's lock: shared to read it whole, exclusive to fold files into another."""
    with open(os.path.join(directory, LOCK_FILE), "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class LockedMultiProcessCollector(MultiProcessCollector):
    """prometheus_client's collector, reading the folder only while no worker is being folded."""

    def collect(self) -> Iterable[Metric]:
        with folder_lock(self._path, exclusive=False):
            return list(super().collect())


def fold_dead_worker(pid: int, directory: str) -> None:
    """Add a dead worker's counters and histograms to the archive files, and remove its files."""
    with folder_lock(directory, exclusive=True):
        for kind in FOLDED_TYPES:
            dead = os.path.join(directory, f"{kind}_{pid}.db")
            if not os.path.exists(dead):
                continue
            archive = os.path.join(directory, f"{kind}_archive.db")
            sources = [dead, archive] if os.path.exists(archive) else [dead]
            # accumulate=False: histogram buckets as stored (per bucket), not cumulative.
            metrics = MultiProcessCollector.merge(sources, accumulate=False)
            partial = archive + ".partial"
            with contextlib.suppress(FileNotFoundError):
                os.remove(partial)  # left by a fold that was interrupted
            merged = MmapedDict(partial)
            try:
                for metric in metrics:
                    for sample in metric.samples:
                        key = mmap_key(
                            metric.name,
                            sample.name,
                            list(sample.labels),
                            list(sample.labels.values()),
                            metric.documentation,
                        )
                        merged.write_value(key, sample.value, sample.timestamp or 0.0)
            finally:
                merged.close()
            os.replace(partial, archive)
            os.remove(dead)
