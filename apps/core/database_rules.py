"""Rules the database enforces outside ``Meta.constraints`` (triggers), by name, with the field
and message to report when one rejects a write.

Apart from the API's exception handler (``apps.core.exceptions``, which reads them) so that
models can register their rules without importing Django REST framework.
"""

# name -> (field, message)
_database_rules: dict[str, tuple[str, str]] = {}


def register_database_rule(name: str, *, field: str, message: str) -> None:
    """Name the field and message to report when the database rule ``name`` rejects a write.

    ``field`` may contain ``{column}``, filled in with the error's column name (a trigger's
    ``RAISE ... USING COLUMN = ...``): ``attributes.{column}`` names one attribute."""
    _database_rules[name] = (field, message)


def database_rule(name: str) -> tuple[str, str] | None:
    """Return the (field, message) registered for the database rule ``name``, if any."""
    return _database_rules.get(name)


def refused_rule(error: BaseException) -> tuple[str, str] | None:
    """Return the (field, message) of the registered rule whose violation ``error`` is (a
    Django ``IntegrityError`` raised by a trigger), or None."""
    diag = getattr(error.__cause__, "diag", None)
    return database_rule(getattr(diag, "constraint_name", None) or "")
