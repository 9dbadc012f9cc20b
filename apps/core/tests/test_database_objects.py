"""The migrated database holds exactly the functions, triggers, types and tables of the SQL files
under apps/*/sql/, and the drift check finds every way in which it could not."""

import re
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from apps.core.database_objects import (
    database_drift,
    database_object,
    database_objects,
    fill_placeholders,
    read_sql_file,
    sql_files,
)

pytestmark = pytest.mark.django_db

DOCS = Path(settings.BASE_DIR) / "docs" / "database.md"


def run(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def function_definitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_functiondef(oid) FROM pg_proc"
            " WHERE pronamespace = 'public'::regnamespace ORDER BY oid"
        )
        return [row[0] for row in cursor.fetchall()]


def test_the_migrated_database_matches_the_sql_files() -> None:
    assert database_drift(connection) == []


def test_the_drift_check_changes_nothing() -> None:
    before = function_definitions()

    database_drift(connection)

    assert function_definitions() == before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'catalogue_database_objects_check'"
        )
        assert cursor.fetchone() == (0,)
        cursor.execute("SHOW search_path")
        assert cursor.fetchone() == ('"$user", public',)


def test_each_file_holds_one_function_and_its_triggers_or_one_type_or_table() -> None:
    for path, objects in sql_files().items():
        first, *others = objects
        assert first.name == path.stem, path
        if first.kind == "function":
            assert {obj.kind for obj in others} <= {"trigger"}, path
            for trigger in others:
                assert f"EXECUTE FUNCTION {first.name}(" in trigger.statement, trigger
        else:
            assert others == [], path


def test_the_docs_list_every_object_with_its_file() -> None:
    rows = {
        (match["name"], match["file"])
        for match in re.finditer(
            r"^\| `(?P<name>\w+)` \| \w+ \|.*?\| `(?P<file>apps/\w+/sql/\w+\.sql)` \|",
            DOCS.read_text(),
            re.MULTILINE,
        )
    }
    expected = {
        (obj.name, str(obj.path.relative_to(settings.BASE_DIR))) for obj in database_objects()
    }
    assert rows == expected


# --- the loader -----------------------------------------------------------------------------


def test_a_file_says_which_objects_it_defines() -> None:
    objects = sql_files()[
        Path(settings.BASE_DIR) / "apps/products/sql/products_product_facet_counts.sql"
    ]

    assert [(obj.kind, obj.name, obj.table) for obj in objects] == [
        ("function", "products_product_facet_counts", ""),
        ("trigger", "products_product_facet_counts_insert", "products_product"),
        ("trigger", "products_product_facet_counts_update", "products_product"),
        ("trigger", "products_product_facet_counts_delete", "products_product"),
    ]
    assert objects[0].statement.startswith("CREATE OR REPLACE FUNCTION")
    assert objects[-1].statement.endswith("EXECUTE FUNCTION products_product_facet_counts();")


def test_a_constraint_trigger_is_replaced_by_dropping_it_first() -> None:
    (_function, trigger) = read_sql_file(
        Path(settings.BASE_DIR) / "apps/products/sql/products_variant_require_one.sql"
    )

    assert (trigger.kind, trigger.name, trigger.table) == (
        "trigger",
        "products_product_requires_variant",
        "products_variant",
    )
    assert trigger.statement.startswith(
        "DROP TRIGGER IF EXISTS products_product_requires_variant ON products_variant;\n"
        "CREATE CONSTRAINT TRIGGER products_product_requires_variant"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;",
        "CREATE TRIGGER t AFTER TRUNCATE ON x EXECUTE FUNCTION f();",
        "CREATE OR REPLACE VIEW v AS SELECT 1;",
        "CREATE OR REPLACE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;",
        "DROP FUNCTION f();",
        # PostgreSQL has no CREATE OR REPLACE CONSTRAINT TRIGGER, nor constraint functions.
        "CREATE OR REPLACE CONSTRAINT TRIGGER t AFTER DELETE ON x EXECUTE FUNCTION f();",
        "CREATE CONSTRAINT FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;",
    ],
)
def test_a_statement_that_does_not_create_or_replace_is_refused(
    tmp_path: Path, statement: str
) -> None:
    path = tmp_path / "f.sql"
    path.write_text(f"-- a comment\n{statement}\n")

    with pytest.raises(ValueError, match=r"f\.sql"):
        read_sql_file(path)


def test_placeholders_take_their_registered_values(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOGUE_SEARCH_CONFIG = "simple"

    filled = database_object("products_product_search_document").sql(connection)

    assert "to_tsvector('simple', coalesce(NEW.name, ''))" in filled
    assert "current_setting('catalogue.defer_search_lexicon', true)" in filled
    assert "${" not in filled
    with pytest.raises(ImproperlyConfigured, match=r"\$\{unknown\} has no value"):
        fill_placeholders("SELECT '${unknown}'", connection)


def test_after_a_change_of_language_search_reindex_brings_the_database_to_the_file(  # type: ignore[no-untyped-def]
    settings,
) -> None:
    search_function = database_object("products_product_search_document")
    settings.CATALOGUE_SEARCH_CONFIG = "simple"

    (problem,) = database_drift(connection, [search_function])
    assert "-        setweight(to_tsvector('english', coalesce(NEW.name, '')), 'A')" in problem
    assert "+        setweight(to_tsvector('simple', coalesce(NEW.name, '')), 'A')" in problem

    call_command("search_reindex", stdout=StringIO())

    assert database_drift(connection) == []


# --- drift: every way the database and the files can differ -----------------------------------


def test_a_file_edited_without_a_migration_is_found(tmp_path: Path) -> None:
    original = database_object("products_facet_edges").path
    edited = tmp_path / original.name
    shutil.copy(original, edited)
    edited.write_text(edited.read_text().replace("Run manage.py", "Please run manage.py"))

    (problem,) = database_drift(connection, read_sql_file(edited))

    assert problem.startswith("function products_facet_edges differs from products_facet_edges.sql")
    assert "-            USING HINT = 'Run manage.py rebuild_facet_counts.';" in problem
    assert "+            USING HINT = 'Please run manage.py rebuild_facet_counts.';" in problem


def test_a_function_altered_in_the_database_is_found() -> None:
    run(
        """
        CREATE OR REPLACE FUNCTION reviews_vote_refuse_own_review() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$
        """
    )

    (problem,) = database_drift(connection)

    assert problem.startswith("function reviews_vote_refuse_own_review differs from")


def test_a_function_with_other_attributes_or_an_overload_is_found() -> None:
    run(
        "ALTER FUNCTION products_facet_edges() VOLATILE",
        "CREATE FUNCTION catalogue_count_estimate(query text, extra int) RETURNS bigint"
        " LANGUAGE sql AS $$ SELECT 1::bigint $$",
    )

    problems = database_drift(connection)

    assert [problem.splitlines()[0] for problem in problems] == [
        "function catalogue_count_estimate has 2 definitions (overloads) in the database,"
        " one in its file",
        "function products_facet_edges differs from products_facet_edges.sql:",
    ]


def test_a_trigger_changed_or_disabled_in_the_database_is_found() -> None:
    run(
        "CREATE OR REPLACE TRIGGER products_category_path BEFORE INSERT ON products_category"
        " FOR EACH ROW EXECUTE FUNCTION products_category_set_path()",
        "ALTER TABLE reviews_reviewvote DISABLE TRIGGER reviews_vote_not_own_review",
    )

    problems = database_drift(connection)

    assert [problem.splitlines()[0] for problem in problems] == [
        "trigger products_category_path on products_category differs from"
        " products_category_set_path.sql:",
        "trigger reviews_vote_not_own_review on reviews_reviewvote is not enabled"
        " (pg_trigger.tgenabled is 'D')",
    ]


def test_a_type_or_table_altered_in_the_database_is_found() -> None:
    run(
        "ALTER TYPE products_facet_change ADD ATTRIBUTE extra integer",
        "ALTER TABLE products_facet_price_edges ALTER COLUMN edges DROP NOT NULL",
    )

    problems = database_drift(connection)

    assert [problem.splitlines()[0] for problem in problems] == [
        "type products_facet_change differs from products_facet_change.sql:",
        "table products_facet_price_edges differs from products_facet_price_edges.sql:",
    ]
    assert "-extra integer" in problems[0]
    assert "-edges numeric[]\n+edges numeric[] NOT NULL" in problems[1]


def test_objects_without_a_file_and_files_without_an_object_are_found() -> None:
    run(
        "CREATE FUNCTION stray_function() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        "CREATE TABLE stray_table (id int)",
        "CREATE TYPE stray_type AS (id int)",
        "CREATE TRIGGER stray_trigger AFTER TRUNCATE ON products_category"
        " EXECUTE FUNCTION products_product_facet_counts_truncate()",
        "DROP TRIGGER products_category_subtree ON products_category",
    )

    problems = database_drift(connection)

    assert problems == [
        "function stray_function is in the database but in no file under apps/*/sql/",
        "table stray_table is in the database but in no file under apps/*/sql/",
        "trigger stray_trigger is in the database but in no file under apps/*/sql/",
        "type stray_type is in the database but in no file under apps/*/sql/",
        "trigger products_category_subtree on products_category"
        " (products_category_move_subtree.sql) is not in the database",
    ]


def test_a_file_that_does_not_run_is_found(tmp_path: Path) -> None:
    broken = tmp_path / "products_facet_edges.sql"
    broken.write_text(
        database_object("products_facet_edges").path.read_text().replace("numeric[]", "nonsense")
    )

    (problem,) = database_drift(connection, read_sql_file(broken))

    assert problem.startswith(
        "function products_facet_edges: products_facet_edges.sql does not run"
    )
