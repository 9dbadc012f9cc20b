"""The catalogue's limits in one place: what a product's columns hold, and how much one import or
export takes. Column limits are read from the model, so that whatever the API, the admin or an
import accepts, PostgreSQL stores."""

from apps.core.limits import INTEGER_MAX, largest_decimal

from .models import DETAIL_MAX_VARIANTS, Product  # noqa: F401 (DETAIL_MAX_VARIANTS: see below)

_fields = Product._meta

# --- a product's columns --------------------------------------------------------------------------

SKU_MAX_LENGTH = _fields.get_field("sku").max_length or 64
NAME_MAX_LENGTH = _fields.get_field("name").max_length or 200
SLUG_MAX_LENGTH = _fields.get_field("slug").max_length or 220
# A description is a TextField; this bound keeps one runaway cell from bloating the search
# document, and stays below the csv module's own cell limit (131,072 characters).
DESCRIPTION_MAX_LENGTH = 100_000
PRICE_MAX = largest_decimal(_fields.get_field("price"))  # 99999999.99
PRICE_MAX_DIGITS: int = _fields.get_field("price").max_digits
PRICE_DECIMAL_PLACES: int = _fields.get_field("price").decimal_places
STOCK_MAX = INTEGER_MAX

# --- the product list -----------------------------------------------------------------------------

# ?ids=1,2,3 takes at most this many.
LIST_MAX_IDS = 100
# ?attribute=colour:red,blue may be given this many times, each with this many values at most.
LIST_MAX_ATTRIBUTE_FILTERS = 20
LIST_MAX_ATTRIBUTE_OPTIONS = 50

# --- variants -------------------------------------------------------------------------------------

# A product's detail carries its first DETAIL_MAX_VARIANTS variants (by position, id), declared
# in models.py beside the detail's query (imported above); all of them are at
# /products/{id}/variants/, paginated. The most a product may have is the setting
# CATALOGUE_MAX_VARIANTS_PER_PRODUCT.

# A variant has one option per axis of its product's type: a type has at most this many axes.
VARIANT_MAX_OPTIONS = 10

# --- sheets: import and export --------------------------------------------------------------------

# An import in the admin runs as jobs (apps/products/import_jobs.py), bounded by the settings
# PRODUCTS_IMPORT_MAX_ROWS (2,000,000) and PRODUCTS_IMPORT_MAX_BYTES (400 MB); the command line has
# no bound. The check keeps every parsed row in memory (about 1.1 KB a row of 20-word
# descriptions), so a worker needs about 1.25 GB for a million rows: benchmarks/RESULTS.md.
# A sample sheet (import_products --generate-sample) has at most this many rows.
SAMPLE_MAX_ROWS = 1_000_000
# A sheet names a product's category by its slug or its id: longer than either can be.
CATEGORY_REFERENCE_MAX_LENGTH = 255
# openpyxl writes about 5,000 rows a second; past this, CSV is the way.
EXPORT_XLSX_MAX_ROWS = 100_000
# Excel's sheet holds 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575
# An XLSX file is a zip: refuse one that would unpack to more than this (a zip bomb).
XLSX_MAX_UNPACKED_BYTES = 512 * 2**20
