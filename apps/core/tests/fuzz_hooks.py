"""schemathesis hooks for ``test_fuzz.py``: its schemathesis processes load this module through
``SCHEMATHESIS_HOOKS``. It imports schemathesis only, not Django."""

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData, Failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case

FORM_MEDIA_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}
NON_BODY_LOCATIONS = [
    ParameterLocation.PATH,
    ParameterLocation.QUERY,
    ParameterLocation.HEADER,
    ParameterLocation.COOKIE,
]


@schemathesis.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Failure, case: Case, response: Response
) -> bool:
    """Keep every failure but "schema-violating request accepted" for a form body that was
    generated as something other than an object (``[]``, ``"text"``), when nothing else in the
    request breaks the schema.

    A form carries named fields only: such a body goes out as no field at all (``[]`` as
    multipart is one part without a name, which parsers skip) or as a field the operation does
    not know (``[]=`` urlencoded), and the server reads the same form as the valid ``{}``. For
    an operation without required fields (an image's PUT and PATCH) that is a valid request,
    rightly accepted. schemathesis 4.32.5 judges a form by what went out on the wire only for a
    body generated as an object (``_form_body_is_valid_as_sent``), and reports the others.
    """
    if not isinstance(failure, AcceptedNegativeData):
        return True
    media_type = (case.media_type or "").split(";")[0].strip().lower()
    other_negative = case.meta is not None and any(
        case.meta.is_negative_at(location) for location in NON_BODY_LOCATIONS
    )
    return media_type not in FORM_MEDIA_TYPES or isinstance(case.body, dict) or other_negative
