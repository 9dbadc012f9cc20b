"""Run the development server and a job worker together: one command, both logs (``make run``).

Each line either process writes is printed with its name in front (``web |``, ``worker |``).
Ctrl-C (or SIGTERM) stops both; if one of them exits on its own, the other is stopped too and the
command exits with the first one's status. When runserver reloads for a changed file, the worker
is restarted as well, so that it runs the jobs' new code.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

# Seconds a process gets to stop after SIGTERM (a worker finishes the job it is running) before
# it is killed.
STOP_TIMEOUT = 15
COLOURS = {"web": "\033[36m", "worker": "\033[35m"}
RESET = "\033[0m"
# What Django's autoreloader logs when a file changed and runserver restarts.
RELOAD_LINE = "changed, reloading."
RELOAD_DEBOUNCE_SECONDS = 2


class Command(BaseCommand):
    help = "Run runserver and a job worker (procrastinate) together, with both logs interleaved."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="runserver's [address:]port"
        )

    def handle(self, *args: Any, addrport: str, **options: Any) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = {
            "web": [*manage, "runserver", addrport],
            "worker": [*manage, "jobs", "worker"],
        }
        # Unbuffered, so that lines come out as they are written, not a pipe's buffer at a time.
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        stop = threading.Event()
        reload_worker = threading.Event()
        print_lock = threading.Lock()
        colour = self.stdout.isatty()
        width = max(map(len, commands))

        def relay(name: str, stream: IO[str]) -> None:
            prefix = f"{name:<{width}} | "
            if colour:
                prefix = f"{COLOURS[name]}{prefix}{RESET}"
            for line in stream:
                with print_lock:
                    self.stdout.write(prefix + line.rstrip("\n"))
                    self.stdout.flush()
                if name == "web" and RELOAD_LINE in line:
                    reload_worker.set()

        def start(name: str) -> subprocess.Popen[str]:
            # A session of its own: the terminal's Ctrl-C reaches this command only, which then
            # stops each process (with its children: runserver's reloader has one) in turn.
            process = subprocess.Popen(  # noqa: S603 (our own manage.py)
                commands[name],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=environment,
                start_new_session=True,
            )
            assert process.stdout is not None
            threading.Thread(target=relay, args=(name, process.stdout), daemon=True).start()
            return process

        processes = {name: start(name) for name in commands}
        worker_started = time.monotonic()

        def request_stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        exited: tuple[str, int] | None = None
        while not stop.wait(0.2):
            if reload_worker.is_set():
                reload_worker.clear()
                # runserver says it twice (printed and logged): one restart per reload.
                if time.monotonic() - worker_started > RELOAD_DEBOUNCE_SECONDS:
                    _stop(processes["worker"])
                    processes["worker"] = start("worker")
                    worker_started = time.monotonic()
            exited = next(
                ((name, p.returncode) for name, p in processes.items() if p.poll() is not None),
                None,
            )
            if exited is not None:
                break

        for process in processes.values():
            _stop(process)
        if exited is not None:
            name, status = exited
            self.stderr.write(f"{name} exited with status {status}; stopped the others.")
            sys.exit(status or 1)


def _stop(process: subprocess.Popen[str]) -> None:
    """Stop ``process`` and its children: SIGTERM, then SIGKILL after ``STOP_TIMEOUT``.

    SIGTERM, not SIGINT: a process started in the background ignores SIGINT (and so do its
    children); the worker takes SIGTERM as a graceful stop too.
    """
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    # The whole group, even when its leader has exited: runserver's reloader child may not have.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
