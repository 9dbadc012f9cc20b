"""Import products from a CSV or XLSX sheet, upserting by SKU (see apps.products.sheets)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.products.sheets import (
    HEADERS,
    VARIANT_HEADERS,
    ImportFileError,
    ImportReport,
    detect_format,
    product_import,
)
from apps.products.sheets.sample import MAX_SAMPLE_PRODUCTS, sample_sheet_write


class Command(BaseCommand):
    help = (
        "Import products from a CSV or XLSX file: the variant sheet (one row per variant: "
        f"{', '.join(VARIANT_HEADERS)}, option:<axis>, attribute:<slug>) or the one-variant "
        f"sheet ({', '.join(HEADERS)}). Nothing is written if any row has an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and report; write nothing."
        )
        parser.add_argument(
            "--remove-missing-variants",
            action="store_true",
            help=(
                "Delete the variants of the sheet's products that it does not name (a variant "
                "sheet's; without this option they are left as they are)."
            ),
        )
        parser.add_argument(
            "--generate-sample",
            type=int,
            metavar="PRODUCTS",
            help=(
                "Write into FILE a variant sheet of PRODUCTS sample products (4 variants each, "
                f"2 axes; at most {MAX_SAMPLE_PRODUCTS:,}), creating the sample's product type, "
                "to measure the import with; import nothing."
            ),
        )

    def handle(
        self,
        *args: Any,
        file: Path,
        dry_run: bool,
        remove_missing_variants: bool,
        generate_sample: int | None,
        **options: Any,
    ) -> None:
        if generate_sample is not None:
            if not 0 < generate_sample <= MAX_SAMPLE_PRODUCTS:
                raise CommandError(f"--generate-sample takes 1 to {MAX_SAMPLE_PRODUCTS:,}.")
            with file.open("w", newline="", encoding="utf-8") as sheet:
                rows = sample_sheet_write(sheet, generate_sample)
            self.stdout.write(f"Wrote {rows:,} rows ({generate_sample:,} products) to {file}.")
            return
        try:
            with file.open("rb") as sheet:
                file_format = detect_format(file.name, sheet.read(8192))
                sheet.seek(0)
                report = product_import(
                    file=sheet,
                    file_format=file_format,
                    commit=not dry_run,
                    remove_missing_variants=remove_missing_variants,
                )
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        except ImportFileError as error:
            raise CommandError(str(error)) from error
        self._print(report, dry_run=dry_run)
        if report.has_errors:
            raise CommandError(
                f"{report.error_count:,} errors in {report.invalid:,} rows: nothing was written."
            )

    def _print(self, report: ImportReport, *, dry_run: bool) -> None:
        for error in report.errors:
            column = f" {error.column}:" if error.column else ""
            self.stderr.write(f"Row {error.row}:{column} {error.message}")
        if report.unlisted_error_count:
            self.stderr.write(f"... and {report.unlisted_error_count:,} more errors.")
        verb = "Would import" if dry_run or report.has_errors else "Imported"
        summary = (
            f"{verb} {report.row_count:,} rows: {report.new:,} new, {report.changed:,} changed, "
            f"{report.unchanged:,} unchanged, {report.invalid:,} invalid."
        )
        if report.variants_removed:
            summary += f" Variants not in the sheet, removed: {report.variants_removed:,}."
        if report.committed:
            self.stdout.write(self.style.SUCCESS(summary))
        else:
            self.stdout.write(summary)
