"""Products to and from spreadsheets: read a CSV or XLSX sheet, check every row, write it in
one transaction, and write the same sheet back out.

Two sheets are read. **The variant sheet** (``variant_columns``), one row per variant, is what
the export writes, so that an export re-imports unchanged::

    product, sku, name, description, category, is_active, product_type,
    price, stock, active, position, option:<axis slug>..., attribute:<attribute slug>...

``product`` (the product's slug) keys the product, ``sku`` the variant. **The one-variant
sheet** (``columns``), a sheet without a ``product`` column, is the sheet of before variants::

    sku, name, slug, description, price, stock, is_active, category

``sku`` is the key; ``category`` is a category's slug or id. ``sku``, ``name``, ``price`` and
``category`` must be columns of the sheet; ``slug``, ``description``, ``stock`` and
``is_active`` may be left out, and then a new product gets the default and an existing one keeps
its value. A blank ``slug`` likewise keeps the product's slug, or derives one from the name.

The columns are declared once each (with its kind of cell, from ``cells``; the typed
attribute and option cells in ``typed_cells``), and every step below is derived from them:

- ``reading``: the file's format and header row; ``csv_reader`` and ``xlsx_reader`` its rows;
- ``checking`` (``variant_checking``): each row parsed and checked against the catalogue
  (``slugs`` for its slug), and the one decision of what it does: create, change or leave its
  product (and variant); a one-variant sheet's rows are staged in a temporary table as they
  are read (``staging``), and checked across the file there;
- ``writing`` (``variant_writing``): the rows to write, set-based (from the staging table, or
  COPYed, then UPDATEs and INSERTs that also write the audit trail), in the transaction of
  ``importing.product_import``;
- ``exporting``: products out, as the variant sheet in CSV or XLSX.
"""

from .columns import HEADERS, REQUIRED_HEADERS
from .errors import ImportFileError
from .exporting import export_csv, export_rows, export_xlsx
from .importing import product_import
from .reading import FORMATS, detect_format, read_sheet, sheet_to_csv
from .report import ImportReport, RowChange, RowError
from .variant_columns import FIXED_HEADERS as VARIANT_HEADERS
from .variant_columns import REQUIRED_VARIANT_HEADERS
from .writing import AUDIT_ACTION

__all__ = [
    "AUDIT_ACTION",
    "FORMATS",
    "HEADERS",
    "REQUIRED_HEADERS",
    "REQUIRED_VARIANT_HEADERS",
    "VARIANT_HEADERS",
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
