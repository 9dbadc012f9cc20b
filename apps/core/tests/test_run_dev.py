"""``make run``'s last step, ``manage.py run_dev``: the dev server and a job worker together, with
both logs; a changed file restarts both; Ctrl-C stops both."""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from django.conf import settings
from django.db import connection

from apps.core.tests.live import database_url, free_port


def ready(port: int) -> dict[str, object] | None:
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        client.request("GET", "/health/ready/")
        return dict(json.loads(client.getresponse().read()))
    except OSError:
        return None


@pytest.mark.django_db(transaction=True)
def test_run_dev_serves_runs_a_worker_reloads_both_and_stops_both_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    log_path = tmp_path / "run_dev.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  # our own manage.py
            [sys.executable, "manage.py", "run_dev", f"127.0.0.1:{port}"],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "project.settings.dev",
                "DATABASE_URL": database_url(connection.settings_dict),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 40
            answer = None
            while time.monotonic() < deadline:
                answer = ready(port)
                if answer and answer["checks"]["queue"].get("workers") == 1:  # type: ignore[index]
                    break
                time.sleep(0.3)
            # A changed file: runserver reloads, and the worker is restarted with it. Touched
            # again each second until it does: the reloader compares with the times it first
            # read, which on a loaded machine it may read after a single touch.
            while time.monotonic() < deadline + 30:
                if log_path.read_text().count("Starting worker on all queues") >= 2:
                    break
                os.utime(settings.BASE_DIR / "apps" / "core" / "jobs.py")
                time.sleep(1)
            children = psutil.Process(process.pid).children(recursive=True)
        finally:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            status = process.wait(timeout=30)
    output = log_path.read_text()

    assert answer is not None and answer["status"] == "ok", output[-3000:]
    assert answer["checks"]["queue"]["workers"] == 1, output[-3000:]  # type: ignore[index]
    assert "web    | Starting development server" in output
    assert "worker | " in output and "Starting worker on all queues" in output
    assert status == 0, output[-3000:]
    assert len(children) >= 2  # runserver (with its reloader's child) and the worker
    assert not [child for child in children if child.is_running() and child.status() != "zombie"]
    assert "changed, reloading." in output
    assert output.count("Starting worker on all queues") == 2, output[-3000:]
    assert output.count("Stopped worker") == 2
