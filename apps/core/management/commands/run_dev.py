"""Run the development server and a job worker together: one command, both logs (``make run``).

Each line either process writes is printed with its name in front (``web |``, ``worker |``).
Ctrl-C (or SIGTERM) stops both; if one of them exits on its own, the other is stopped too and the
command exits with the first one's status. The worker does not reload on code changes, as
runserver does: restart ``make run`` after changing a job.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

# Seconds each process gets to stop after SIGTERM (a worker finishes the job it is running)
# before it is killed.
STOP_TIMEOUT = 15
COLOURS = {"web": "\033[36m", "worker": "\033[35m"}
RESET = "\033[0m"


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
            "worker": [*manage, "procrastinate", "worker"],
        }
        # Unbuffered, so that lines come out as they are written, not a pipe's buffer at a time.
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        stop = threading.Event()
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

        processes: dict[str, subprocess.Popen[str]] = {}
        for name, command in commands.items():
            # A session of its own: the terminal's Ctrl-C reaches this command only, which then
            # stops each process (with its children: runserver's reloader has one) in turn.
            processes[name] = subprocess.Popen(  # noqa: S603 (our own manage.py)
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=environment,
                start_new_session=True,
            )
            assert processes[name].stdout is not None
            threading.Thread(target=relay, args=(name, processes[name].stdout), daemon=True).start()

        def request_stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        exited: tuple[str, int] | None = None
        while not stop.wait(0.2):
            exited = next(
                ((name, p.returncode) for name, p in processes.items() if p.poll() is not None),
                None,
            )
            if exited is not None:
                break

        # SIGTERM, not SIGINT: a process started in the background ignores SIGINT (and so do
        # its children); the worker takes SIGTERM as a graceful stop too.
        for process in processes.values():
            _signal_group(process, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        if exited is not None:
            name, status = exited
            self.stderr.write(f"{name} exited with status {status}; stopped the others.")
            sys.exit(status or 1)


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    # The whole group, even when its leader has exited: runserver's reloader child may not have.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
