"""The database objects our apps keep in SQL, beside what Django's models describe: functions,
the triggers that execute them, a composite type, a table.

Each lives in ``apps/<app>/sql/<name>.sql``: a function's file (named after it) holds the
function and the triggers that execute it; a type or a table has a file of its own. Functions
and triggers are written ``CREATE OR REPLACE``, so that running their file brings the database
to it; a type or a table is created once by a migration and changed by ``ALTER``, its file says
what it is now. Migrations keep frozen copies of what they install, never read these files:
``database_drift`` tells whether the migrated database still matches them.

A file may write ``${name}`` where a value known only at run time goes (the text-search
configuration of the search trigger). The module that owns the value gives it with
``register_placeholder``; it is inserted as it is, not quoted, so that module checks it.
PostgreSQL has no syntax with ``${``: a placeholder cannot be mistaken for SQL.
"""

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import sqlparse
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.migrations.recorder import MigrationRecorder

Kind = Literal["function", "trigger", "type", "table"]

SQL_DIRECTORY = "sql"
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
# A statement's first line: functions and triggers replace what is there, types and tables
# are created (PostgreSQL has no CREATE OR REPLACE for them). Names are not schema-qualified:
# objects go where the migrations put them, the connection's current schema.
# A constraint trigger (deferrable, checked at commit) has no CREATE OR REPLACE either: its
# file writes CREATE CONSTRAINT TRIGGER, run after a DROP TRIGGER IF EXISTS of the same trigger.
_HEADER = re.compile(
    r"CREATE (?P<replace>OR REPLACE )?(?P<constraint>CONSTRAINT )?"
    r"(?P<kind>FUNCTION|TRIGGER|TYPE|TABLE) (?P<name>\w+)\b(?!\.)"
)
_TRIGGER_TABLE = re.compile(r"\bON (\w+)")
_LEADING_COMMENTS = re.compile(r"\A(?:\s*--[^\n]*\n)*\s*")
# Where database_drift creates a file's type or table to compare it with the database's.
_SCRATCH_SCHEMA = "catalogue_database_objects_check"

_placeholders: dict[str, Callable[[BaseDatabaseWrapper], str]] = {}


@dataclass(frozen=True)
class DatabaseObject:
    """One object a SQL file defines, with the statement that creates it."""

    kind: Kind
    name: str
    statement: str  # placeholders not filled in
    path: Path
    table: str = ""  # the table a trigger is on

    def __str__(self) -> str:
        return f"{self.kind} {self.name}" + (f" on {self.table}" if self.table else "")

    def sql(self, connection: BaseDatabaseWrapper) -> str:
        """Return the statement with its placeholders filled in for ``connection``."""
        return fill_placeholders(self.statement, connection)


def register_placeholder(name: str, value: Callable[[BaseDatabaseWrapper], str]) -> None:
    """Give the value of ``${name}`` in SQL files: ``value(connection)``, checked, unquoted."""
    _placeholders[name] = value


def fill_placeholders(sql: str, connection: BaseDatabaseWrapper) -> str:
    """Return ``sql`` with each ``${name}`` replaced by its registered value (each one asked
    for once)."""
    values: dict[str, str] = {}
    for name in dict.fromkeys(PLACEHOLDER.findall(sql)):
        if name not in _placeholders:
            raise ImproperlyConfigured(
                f"SQL placeholder ${{{name}}} has no value: the module that owns it gives one "
                "with apps.core.database_objects.register_placeholder()."
            )
        values[name] = _placeholders[name](connection)
    return PLACEHOLDER.sub(lambda match: values[match[1]], sql)


def read_sql_file(path: Path) -> tuple[DatabaseObject, ...]:
    """Return the objects the SQL file at ``path`` defines, in its order."""
    objects = []
    for text in sqlparse.split(path.read_text()):
        statement = _LEADING_COMMENTS.sub("", text)
        if not statement:
            continue  # a comment after the last statement
        header = _HEADER.match(statement)
        if header is None:
            raise ValueError(
                f"{path}: a statement must create a function, trigger, type or table (named "
                f"without a schema), not {statement.splitlines()[0]!r}"
            )
        kind = cast(Kind, header["kind"].lower())
        constraint = bool(header["constraint"])
        if constraint and kind != "trigger":
            raise ValueError(f"{path}: CONSTRAINT goes with TRIGGER only")
        replaceable = kind in ("function", "trigger") and not constraint
        if bool(header["replace"]) != replaceable:
            raise ValueError(
                f"{path}: write CREATE OR REPLACE for a function or trigger, CREATE for a type, "
                f"table or constraint trigger, not {statement.splitlines()[0]!r}"
            )
        table = ""
        if kind == "trigger":
            on = _TRIGGER_TABLE.search(statement, header.end())
            if on is None:
                raise ValueError(f"{path}: trigger {header['name']} names no table")
            table = on[1]
        if constraint:
            # Replaced as the others are: running the file brings the database to it.
            statement = f"DROP TRIGGER IF EXISTS {header['name']} ON {table};\n{statement}"
        objects.append(DatabaseObject(kind, header["name"], statement, path, table))
    return tuple(objects)


def sql_files() -> dict[Path, tuple[DatabaseObject, ...]]:
    """Return our apps' SQL files with the objects each defines, apps in ``INSTALLED_APPS``
    order and files by name."""
    # Ours only: a third-party app may have an sql/ folder of its own (Django before 1.7 read
    # initial data from one).
    paths = [Path(app_config.path).resolve() for app_config in apps.get_app_configs()]
    ours = [path for path in paths if path.is_relative_to(settings.BASE_DIR)]
    return {
        path: read_sql_file(path)
        for app_path in ours
        for path in sorted((app_path / SQL_DIRECTORY).glob("*.sql"))
    }


def database_objects() -> list[DatabaseObject]:
    """Return the objects of every SQL file, each defined once."""
    objects = [obj for defined in sql_files().values() for obj in defined]
    seen: dict[tuple[str, str], DatabaseObject] = {}
    for obj in objects:
        other = seen.setdefault((obj.kind, obj.name), obj)
        if other is not obj:
            raise ImproperlyConfigured(f"{obj} is defined in {other.path} and in {obj.path}")
    return objects


def database_object(name: str, kind: Kind = "function") -> DatabaseObject:
    """Return the object named ``name`` as its SQL file defines it."""
    for obj in database_objects():
        if (obj.kind, obj.name) == (kind, name):
            return obj
    raise LookupError(f"No SQL file under apps/*/{SQL_DIRECTORY}/ defines the {kind} {name}")


def install(connection: BaseDatabaseWrapper, objects: Iterable[DatabaseObject]) -> None:
    """Run each object's statement on ``connection``, placeholders filled in."""
    with connection.cursor() as cursor:
        for obj in objects:
            cursor.execute(obj.sql(connection))


# --- what the database has --------------------------------------------------------------------


# Objects a package creates through its own migrations, from its own SQL: the job queue's
# (procrastinate's tables, types, functions and triggers, docs/jobs.md). Its version pin, not a
# file of ours, says what they are.
THIRD_PARTY_PREFIXES = ("procrastinate_",)


def objects_in_database(connection: BaseDatabaseWrapper) -> set[tuple[Kind, str]]:
    """Return the functions, triggers, types and tables of the current schema that a SQL file
    should define: not an extension's (pg_trgm's functions), not a table of a Django model, not
    a package's (``THIRD_PARTY_PREFIXES``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'function', proname FROM pg_proc
            WHERE pronamespace = to_regnamespace(current_schema())
              AND NOT EXISTS (
                  SELECT 1 FROM pg_depend WHERE classid = 'pg_proc'::regclass
                  AND objid = pg_proc.oid AND deptype = 'e')
            UNION ALL
            SELECT 'trigger', tgname FROM pg_trigger
            JOIN pg_class ON pg_class.oid = tgrelid
            WHERE relnamespace = to_regnamespace(current_schema()) AND NOT tgisinternal
            UNION ALL
            -- Composite types of their own (not a table's row type), enums, domains, ranges.
            SELECT 'type', typname FROM pg_type
            LEFT JOIN pg_class ON pg_class.oid = typrelid
            WHERE typnamespace = to_regnamespace(current_schema())
              AND (typtype IN ('e', 'd', 'r') OR relkind = 'c')
              AND NOT EXISTS (
                  SELECT 1 FROM pg_depend WHERE classid = 'pg_type'::regclass
                  AND objid = pg_type.oid AND deptype = 'e')
            UNION ALL
            SELECT 'table', relname FROM pg_class
            WHERE relnamespace = to_regnamespace(current_schema()) AND relkind IN ('r', 'p')
              AND NOT EXISTS (
                  SELECT 1 FROM pg_depend WHERE classid = 'pg_class'::regclass
                  AND objid = pg_class.oid AND deptype = 'e')
            """
        )
        found = {(cast(Kind, kind), name) for kind, name in cursor.fetchall()}
    django_tables = {
        *connection.introspection.django_table_names(),
        MigrationRecorder.Migration._meta.db_table,
    }
    return {
        (kind, name)
        for kind, name in found
        if (kind != "table" or name not in django_tables)
        and not name.startswith(THIRD_PARTY_PREFIXES)
    }


def definition(cursor: CursorWrapper, obj: DatabaseObject, schema: str | None = None) -> str | None:
    """Return how the database defines ``obj`` (in ``schema``, by default the current one), as
    PostgreSQL writes it back, or None if it has no such object."""
    if obj.kind == "function":
        # All overloads: a file that changes the arguments adds one rather than replacing.
        cursor.execute(
            "SELECT pg_get_functiondef(oid) FROM pg_proc"
            " WHERE proname = %s AND pronamespace = to_regnamespace(coalesce(%s, current_schema()))"
            " ORDER BY oid",
            [obj.name, schema],
        )
        return "\n".join(row[0] for row in cursor.fetchall()) or None
    if obj.kind == "trigger":
        cursor.execute(
            "SELECT pg_get_triggerdef(pg_trigger.oid) FROM pg_trigger"
            " JOIN pg_class ON pg_class.oid = tgrelid"
            " WHERE tgname = %s AND relname = %s"
            " AND relnamespace = to_regnamespace(coalesce(%s, current_schema()))",
            [obj.name, obj.table, schema],
        )
        row = cursor.fetchone()
        return row[0] if row else None
    cursor.execute(
        "SELECT oid, quote_ident(coalesce(%s, current_schema())) FROM pg_class"
        " WHERE relname = %s AND relnamespace = to_regnamespace(coalesce(%s, current_schema()))"
        " AND relkind = %s",
        [schema, obj.name, schema, "c" if obj.kind == "type" else "r"],
    )
    row = cursor.fetchone()
    return _relation_definition(cursor, obj, *row) if row else None


def _relation_definition(
    cursor: CursorWrapper, obj: DatabaseObject, oid: int, quoted_schema: str
) -> str:
    """Return a type's attributes, or a table's columns, constraints and indexes, one a line,
    without the schema's name (a file's copy is compared in another schema)."""
    cursor.execute(
        """
        SELECT format('%%I %%s', attname, format_type(atttypid, atttypmod))
            || CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END
            || coalesce(' DEFAULT ' || pg_get_expr(adbin, adrelid), '')
        FROM pg_attribute
        LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
        WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped
        ORDER BY attnum
        """,
        [oid],
    )
    lines = [row[0] for row in cursor.fetchall()]
    if obj.kind == "table":
        cursor.execute(
            "SELECT format('CONSTRAINT %%I %%s', conname, pg_get_constraintdef(oid))"
            " FROM pg_constraint WHERE conrelid = %s ORDER BY conname",
            [oid],
        )
        lines += [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT replace(pg_get_indexdef(indexrelid), %s || '.', '')"
            " FROM pg_index WHERE indrelid = %s AND NOT EXISTS ("
            " SELECT 1 FROM pg_constraint WHERE conindid = indexrelid) ORDER BY indexrelid",
            [quoted_schema, oid],
        )
        lines += [row[0] for row in cursor.fetchall()]
    return "\n".join(lines)


def database_drift(
    connection: BaseDatabaseWrapper, objects: Iterable[DatabaseObject] | None = None
) -> list[str]:
    """Return where the database differs from the SQL files: a definition that differs, a
    trigger disabled, an object missing; and, when checking all files (``objects`` None), an
    object of ours that no file defines.

    Each function and trigger is read, its statement run, and read again; a type or table is
    created in a scratch schema and compared. All in a transaction (or savepoint) rolled back:
    nothing changes, but replacing a trigger locks its table until then.
    """
    problems = []
    if objects is None:
        objects = database_objects()
        defined = {(obj.kind, obj.name) for obj in objects}
        problems = [
            f"{kind} {name} is in the database but in no file under apps/*/{SQL_DIRECTORY}/"
            for kind, name in sorted(objects_in_database(connection) - defined)
        ]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {_SCRATCH_SCHEMA}")
        for obj in objects:
            problems.extend(_differences(connection, cursor, obj))
        transaction.set_rollback(True, using=connection.alias)
    return problems


def _differences(
    connection: BaseDatabaseWrapper, cursor: CursorWrapper, obj: DatabaseObject
) -> Iterator[str]:
    """Yield how the database's ``obj`` differs from its file's."""
    in_database = definition(cursor, obj)
    if in_database is None:
        yield f"{obj} ({obj.path.name}) is not in the database"
        return
    if obj.kind == "function":
        cursor.execute(
            "SELECT count(*) FROM pg_proc"
            " WHERE proname = %s AND pronamespace = to_regnamespace(current_schema())",
            [obj.name],
        )
        (overloads,) = cursor.fetchone()
        if overloads > 1:
            yield f"{obj} has {overloads} definitions (overloads) in the database, one in its file"
    if obj.kind == "trigger":
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger JOIN pg_class ON pg_class.oid = tgrelid"
            " WHERE tgname = %s AND relname = %s"
            " AND relnamespace = to_regnamespace(current_schema())",
            [obj.name, obj.table],
        )
        (enabled,) = cursor.fetchone()
        if enabled != "O":  # O fires in ordinary sessions, D never
            yield f"{obj} is not enabled (pg_trigger.tgenabled is {enabled!r})"
    # A type or a table cannot be replaced: the file's is created in the scratch schema.
    scratch = _SCRATCH_SCHEMA if obj.kind in ("type", "table") else None
    try:
        with transaction.atomic(using=connection.alias):
            cursor.execute("SELECT current_setting('search_path')")
            (search_path,) = cursor.fetchone()
            if scratch:
                cursor.execute("SELECT set_config('search_path', %s, true)", [scratch])
            cursor.execute(obj.sql(connection))
            cursor.execute("SELECT set_config('search_path', %s, true)", [search_path])
            from_file = definition(cursor, obj, scratch)
    except DatabaseError as error:
        yield f"{obj}: {obj.path.name} does not run: {error}".strip()
        return
    if from_file != in_database:
        diff = difflib.unified_diff(
            in_database.splitlines(),
            (from_file or "").splitlines(),
            "database",
            str(obj.path),
            lineterm="",
        )
        yield f"{obj} differs from {obj.path.name}:\n" + "\n".join(diff)
