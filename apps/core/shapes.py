"""JSON objects declared once, key by key, and rendered by functions generated from the
declaration.

A ``Shape`` lists its ``Field`` objects in output order. Each names the columns it reads, as
``QuerySet.values()`` names them (``"category__name"``), and a converter from their values to
its JSON value (none: the one column's value as it is); or it is a nested object, read from the
same source, or a list of objects held in one column (JSON from a subquery). From the one
declaration come the ``values()`` columns (``Shape.columns``), the keys a serializer declares
(``Shape.keys``), a check of a serializer against it (``assert_serializer_matches``) and two
renderers of the same JSON:

- ``Shape.row_renderer()`` reads a ``values()`` row: ``row["category__name"]``;
- ``Shape.instance_renderer()`` reads a model instance: ``product.category.name``.

Renderers are the hot path of a list (hundreds of rows a second), so they are generated as
Python source and compiled once, as ``dataclasses`` builds ``__init__``: a dict display with one
subscript or attribute read per column and one call per converter, the code one would write by
hand. A loop over the fields instead costs about 15 % more per row (measured on the product list
row). The generated source shows in tracebacks and through ``inspect.getsource``.
"""

import itertools
import keyword
import linecache
import re
from collections.abc import Callable, Iterator
from typing import Any

from rest_framework import serializers

Converter = Callable[..., Any]
Renderer = Callable[..., dict[str, Any]]
Reader = Callable[[str, str], str]  # (source, column) -> the expression that reads the column

_INDENT = "    "
_RENDERER_NUMBERS = itertools.count(1)  # a file name of its own for each renderer's source


class Field:
    """One key of a JSON object and where its value comes from.

    ``Field("price", convert=price_text)`` reads the column ``price`` and converts it;
    ``Field("in_stock", "stock", convert=...)`` names the columns it reads, passed to the
    converter in order; ``Field("sku")`` is the column ``sku`` as it is. With ``shape`` the value
    is a nested object whose fields read the same source, or with ``many`` a list of objects: the
    one column holds mappings (JSON objects), whose keys the nested fields name as columns. A
    converter with ``takes_request`` also gets the request the renderer is called with.
    """

    __slots__ = ("columns", "convert", "key", "many", "shape", "takes_request")

    def __init__(
        self,
        key: str,
        *columns: str,
        convert: Converter | None = None,
        shape: "Shape | None" = None,
        many: bool = False,
        takes_request: bool = False,
    ) -> None:
        if shape is None:
            columns = columns or (key,)
            assert not many, f"{key!r}: many=True describes a list of objects; give it a shape."
            assert convert is not None or len(columns) == 1, (
                f"{key!r} reads {len(columns)} columns: give a converter that takes them."
            )
        else:
            assert convert is None, f"{key!r}: a nested shape converts its own fields."
            assert len(columns) == (1 if many else 0), (
                f"{key!r}: a nested object reads its fields' columns; a list of objects "
                "(many=True) names the one column that holds them."
            )
        assert convert is not None or not takes_request, (
            f"{key!r}: only a converter takes the request."
        )
        self.key = key
        self.columns: tuple[str, ...] = columns
        self.convert = convert
        self.shape = shape
        self.many = many
        self.takes_request = takes_request

    def __repr__(self) -> str:
        arguments = [repr(self.key), *map(repr, self.columns)]
        if self.shape is not None:
            arguments.append(f"shape={self.shape!r}")
        return f"Field({', '.join(arguments)})"

    @property
    def uses_request(self) -> bool:
        """Return whether this field or one nested in it converts with the request."""
        return self.takes_request or (self.shape is not None and self.shape.uses_request)


class Shape:
    """A JSON object's fields, in output order: see the module's docstring."""

    __slots__ = ("columns", "fields", "keys", "uses_request")

    def __init__(self, *fields: Field) -> None:
        keys = [field.key for field in fields]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        assert not repeated, f"Each key is declared once; repeated: {repeated}."
        self.fields = fields
        self.keys: tuple[str, ...] = tuple(keys)
        # What a values() query selects: each column once, in the order fields read them. The
        # columns of a list's objects are keys of its JSON, not of the query.
        self.columns: tuple[str, ...] = tuple(dict.fromkeys(_columns(fields)))
        self.uses_request = any(field.uses_request for field in fields)

    def __repr__(self) -> str:
        return f"Shape({', '.join(map(repr, self.fields))})"

    def extend(self, *fields: Field) -> "Shape":
        """Return this shape with ``fields`` added at the end; a field under a key the shape
        already has is a nested object whose fields extend that object's."""
        extended = {field.key: field for field in self.fields}
        for field in fields:
            known = extended.get(field.key)
            if known is None:
                extended[field.key] = field
                continue
            assert known.shape is not None and field.shape is not None, (
                f"{field.key!r} is already declared: only a nested object can be extended, by "
                "a Field with a shape of the fields to add."
            )
            assert not known.many and not field.many, f"{field.key!r}: a list is not extended."
            extended[field.key] = Field(field.key, shape=known.shape.extend(*field.shape.fields))
        return Shape(*extended.values())

    def row_renderer(self, name: str, *, parameter: str = "row", doc: str = "") -> Renderer:
        """Return a function ``name(row)`` (``name(row, request)`` if a converter takes the
        request) that renders a ``values()`` row holding ``self.columns``."""
        return _compile(self, name, parameter, doc, read=_read_key)

    def instance_renderer(
        self, name: str, *, parameter: str = "instance", doc: str = ""
    ) -> Renderer:
        """Return a function ``name(instance)`` (``name(instance, request)`` if a converter
        takes the request) that renders a model instance, reading ``category__name`` as
        ``instance.category.name``."""
        return _compile(self, name, parameter, doc, read=_read_attribute)


def assert_serializer_matches(
    serializer_class: type[serializers.Serializer[Any]], shape: Shape, *, shape_name: str
) -> None:
    """Fail, saying what differs, unless ``serializer_class`` has ``shape``'s keys in its order,
    and so do the serializers nested in it (objects, lists of objects) under the same keys.

    The values are the concern of a test that renders both; this check runs at import, so that
    a key added to one and not the other stops the server from starting."""
    _assert_fields_match(serializer_class(), shape, serializer_class.__name__, shape_name)


def _assert_fields_match(
    serializer: serializers.BaseSerializer[Any], shape: Shape, where: str, shape_name: str
) -> None:
    assert isinstance(serializer, serializers.Serializer)
    keys = list(serializer.fields)
    assert keys == list(shape.keys), (
        f"{where} has the fields {keys}, {shape_name} the keys {list(shape.keys)}: declare "
        "the same keys in the same order in both (a serializer whose fields are the shape's "
        "takes Meta.fields = list(<shape>.keys))."
    )
    for field in shape.fields:
        nested: Any = serializer.fields[field.key]
        is_list = isinstance(nested, serializers.ListSerializer)
        if field.shape is None or not isinstance(
            nested.child if is_list else nested, serializers.Serializer
        ):
            continue  # a value, or a mapping whose keys are data (a DictField)
        assert is_list == field.many, (
            f"{where}.{field.key} is {'a list' if is_list else 'one object'}, {shape_name}'s "
            f"field {field.key!r} {'a list' if field.many else 'one object'}: give both the "
            "same many=."
        )
        _assert_fields_match(
            nested.child if is_list else nested,
            field.shape,
            f"{where}.{field.key}",
            f"{shape_name}.{field.key}",
        )


# --- the generated renderers --------------------------------------------------------------------


def _columns(fields: tuple[Field, ...]) -> Iterator[str]:
    for field in fields:
        if field.shape is not None and not field.many:
            yield from field.shape.columns
        else:
            yield from field.columns


def _read_key(source: str, column: str) -> str:
    return f"{source}[{column!r}]"


def _read_attribute(source: str, column: str) -> str:
    names = column.split("__")
    assert all(name.isidentifier() and not keyword.iskeyword(name) for name in names), (
        f"{column!r} is no attribute path: write a column as values() does, e.g. category__name."
    )
    return ".".join([source, *names])


class _Source:
    """The renderer's text, built up field by field, one line per key, and the converters it
    calls by name."""

    def __init__(self) -> None:
        self.converters: dict[str, Converter] = {}

    def object(
        self, shape: Shape, source: str, read: Reader, level: int, path: tuple[str, ...] = ()
    ) -> str:
        """Return a dict display of ``shape`` read from ``source``, its keys at ``level``."""
        lines = [
            f"{_INDENT * level}{field.key!r}: "
            f"{self.value(field, source, read, level, (*path, field.key))},"
            for field in shape.fields
        ]
        return "\n".join(["{", *lines, f"{_INDENT * (level - 1)}}}"])

    def value(
        self, field: Field, source: str, read: Reader, level: int, path: tuple[str, ...]
    ) -> str:
        if field.shape is not None and field.many:
            # Each object of the list is a mapping: its fields read it by key.
            item = f"item_{level}"
            items = read(source, field.columns[0])
            inner = _INDENT * (level + 1)
            displayed = self.object(field.shape, item, _read_key, level + 2, path)
            return f"[\n{inner}{displayed}\n{inner}for {item} in {items}\n{_INDENT * level}]"
        if field.shape is not None:
            return self.object(field.shape, source, read, level + 1, path)
        arguments = [read(source, column) for column in field.columns]
        if field.convert is None:
            return arguments[0]
        # Named after the key, for tracebacks: convert_category_name.
        name = "convert_" + "_".join(re.sub(r"\W", "_", key, flags=re.ASCII) for key in path)
        while name in self.converters:
            name += "_"
        self.converters[name] = field.convert
        if field.takes_request:
            arguments.append("request")
        return f"{name}({', '.join(arguments)})"


def _compile(shape: Shape, name: str, parameter: str, doc: str, *, read: Reader) -> Renderer:
    assert name.isidentifier() and parameter.isidentifier(), (name, parameter)
    assert parameter != "request" and not parameter.startswith(("convert_", "item_")), (
        f"{parameter!r} is a name the generated code uses: call the parameter otherwise."
    )
    writer = _Source()
    body = writer.object(shape, parameter, read, 2)
    parameters = f"{parameter}, request" if shape.uses_request else parameter
    source = f"def {name}({parameters}):\n{_INDENT}return {body}\n"
    filename = f"<generated {name} {next(_RENDERER_NUMBERS)}>"
    namespace: dict[str, Any] = dict(writer.converters)
    # The source is built from the declaration only: keys written with repr(), columns checked
    # as identifiers or written with repr(), converters called by generated names.
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    renderer: Renderer = namespace[name]
    renderer.__doc__ = doc or None
    # For tracebacks and inspect.getsource().
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    return renderer
