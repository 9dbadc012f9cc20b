"""Products to and from spreadsheets: read a CSV or XLSX sheet, check every row, upsert by SKU,
and write the same sheet back out.

One sheet format serves both directions, so that an export re-imports unchanged::

    sku, name, slug, description, price, stock, is_active, category

``sku`` is the key; ``category`` is a category's slug or id. ``sku``, ``name``, ``price`` and
``category`` must be columns of the sheet; ``slug``, ``description``, ``stock`` and
``is_active`` may be left out, and then a new product gets the default and an existing one keeps
its value. A blank ``slug`` likewise keeps the product's slug, or derives one from the name.

The columns are declared once, in ``columns`` (each with its kind of cell, from ``cells``), and
every step below is derived from them:

- ``reading``: the file's format and header row; ``csv_reader`` and ``xlsx_reader`` its rows;
- ``checking``: each row parsed and checked against the catalogue (``slugs`` for its slug), and
  the one decision of what it does: create, change or leave its product;
- ``writing``: the rows to write, set-based (COPY, then an UPDATE and an INSERT that also write
  the audit trail), in the transaction of ``importing.product_import``;
- ``exporting``: products out, as CSV or XLSX.
"""

from .columns import HEADERS, REQUIRED_HEADERS
from .errors import ImportFileError
from .exporting import export_csv, export_rows, export_xlsx
from .importing import product_import
from .reading import FORMATS, detect_format, read_sheet, sheet_to_csv
from .report import ImportReport, RowChange, RowError
from .writing import AUDIT_ACTION

__all__ = [
    "AUDIT_ACTION",
    "FORMATS",
    "HEADERS",
    "REQUIRED_HEADERS",
    "ImportFileError",
    "ImportReport",
    "RowChange",
    "RowError",
    "detect_format",
    "export_csv",
    "export_rows",
    "export_xlsx",
    "product_import",
    "read_sheet",
    "sheet_to_csv",
]
