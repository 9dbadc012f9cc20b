"""Print the URL of the benchmark's database for a size, creating the database when missing.

    python benchmarks/database.py S            # prints postgres://.../catalogue_bench_s
    python benchmarks/database.py S --has-products && echo "already generated"

On the server of ``DATABASE_URL`` when it is set, else on the embedded PostgreSQL that dev uses
(``project/embedded_postgres.py``). ``make bench`` calls this, then migrates, generates the
catalogue when the database has no products, and runs ``benchmarks/run.py``.
"""

import argparse
import contextlib
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from project.embedded_postgres import embedded_database_url

SIZES = {"S": 100_000, "M": 1_000_000}


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def bench_database_url(size: str) -> str:
    """Return the URL of ``catalogue_bench_<size>``, created if missing."""
    database = f"catalogue_bench_{size.lower()}"
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url:
        return embedded_database_url(ROOT / ".data" / "postgres", database)
    url = with_database(server_url, database)
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        # The planner setting README's "Configuration" recommends (the embedded server has it).
        connection.execute(
            sql.SQL("ALTER DATABASE {} SET random_page_cost = 1.1").format(sql.Identifier(database))
        )
    return url


def has_products(url: str) -> bool:
    with psycopg.connect(url) as connection:
        table = connection.execute("SELECT to_regclass('products_product')").fetchone()
        if table is None or table[0] is None:
            return False
        return connection.execute("SELECT EXISTS (SELECT 1 FROM products_product)").fetchone() == (
            True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=sorted(SIZES), type=str.upper)
    parser.add_argument(
        "--has-products", action="store_true", help="exit 0 when products exist, else 1"
    )
    parser.add_argument("--products", action="store_true", help="print the size's product count")
    args = parser.parse_args()
    if args.products:
        print(SIZES[args.size])
        return
    url = bench_database_url(args.size)
    if args.has_products:
        sys.exit(0 if has_products(url) else 1)
    print(url)


if __name__ == "__main__":
    main()
