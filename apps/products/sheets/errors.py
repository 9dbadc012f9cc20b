"""The two ways a sheet can be wrong: as a file, or in one of its cells."""


class ImportFileError(Exception):
    """The file cannot be read as a product sheet at all (as opposed to errors in its rows)."""


class CellError(Exception):
    """A cell's value is unusable; the message tells the person how to fix it."""
