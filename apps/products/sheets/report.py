"""What checking (and writing) a sheet found: counts, the errors of its rows, a sample of the
changes."""

import uuid
from dataclasses import dataclass, field

# A report lists this many errors at most (it counts them all), and this many new and this many
# changed products as a sample.
REPORTED_ERRORS_LIMIT = 500
SAMPLE_SIZE = 20


@dataclass(frozen=True)
class RowError:
    """A problem with one cell (``column``) or a whole row (``column`` empty)."""

    row: int
    column: str
    message: str


@dataclass(frozen=True)
class RowChange:
    """What a row does to its product: each field's value before and after, as text."""

    row: int
    sku: str
    is_new: bool
    changes: dict[str, tuple[str, str]]


@dataclass
class ImportReport:
    """The outcome of checking (and, when ``committed``, writing) a product sheet.

    Rows are counted once each: ``new + changed + unchanged + invalid == row_count``. Only the
    first ``REPORTED_ERRORS_LIMIT`` errors are listed; ``error_count`` counts them all.
    """

    file_format: str
    columns: tuple[str, ...]
    row_count: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    invalid: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    samples: list[RowChange] = field(default_factory=list)
    # Variants of the sheet's products that it does not name, deleted (remove_missing_variants).
    variants_removed: int = 0
    committed: bool = False
    # The audit trail's batch of the products this import created or changed, once written.
    audit_batch: uuid.UUID | None = None

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0

    @property
    def unlisted_error_count(self) -> int:
        return self.error_count - len(self.errors)

    @property
    def room_for_errors(self) -> int:
        """Return how many more errors the report lists."""
        return REPORTED_ERRORS_LIMIT - len(self.errors)

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < REPORTED_ERRORS_LIMIT:
            self.errors.append(RowError(row, column, message))

    def add_counted_errors(self, listed: list[RowError], *, count: int) -> None:
        """Add ``count`` errors, of which ``listed`` (as many as there is room for) are the
        first."""
        assert len(listed) <= self.room_for_errors, "list only as many as there is room for"
        self.error_count += count
        self.errors.extend(listed)
