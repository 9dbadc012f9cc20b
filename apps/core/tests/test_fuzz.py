"""The API against its own OpenAPI schema, fuzzed on a live server.

schemathesis reads ``/api/schema/`` from gunicorn (production settings, the test database, a
Redis database of its own) and sends every operation requests it generates from the schema,
valid and invalid ones, anonymously and as a staff superuser at the same time. The test fails on
any 5xx, on any response whose status code, headers, media type or body the schema does not
describe, and on any request that breaks the schema and is accepted all the same: every bound
the schema states must be one the server enforces.

Each run has a time budget (``--max-time``): its phases share it, and what is left once every
operation had its examples goes to more fuzzing, so the test takes the same time on any machine
(about 3 minutes in all) and a faster one tests more. ``make fuzz`` runs this test alone;
``FUZZ_SECONDS``, ``FUZZ_EXAMPLES`` and ``FUZZ_SEED`` change the budget, the examples per
operation and round, and the seed, e.g. ``make fuzz FUZZ_SECONDS=900``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests
import schemathesis
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from PIL import Image
from schemathesis.core.failures import AcceptedNegativeData, Failure
from schemathesis.core.transport import Response
from schemathesis.hooks import should_keep_failure

from apps.attributes.tests.factories import (
    AttributeFactory,
    AttributeOptionFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)
from apps.core.tests import fuzz_hooks
from apps.core.tests.live import ProdServer, free_port
from apps.core.tests.live import database_url as live_database_url
from apps.products.models import ProductAttributeValue
from apps.products.tests.factories import CategoryFactory, ProductFactory, product_with_options
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

# A Redis database no other test or server uses: flushed before and after, and only it.
REDIS_URL = "redis://127.0.0.1:6379/13"
STAFF_EMAIL = "staff@example.com"
SECONDS = int(os.environ.get("FUZZ_SECONDS", "150"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("FUZZ_SEED", "1"))
# schemathesis hooks (filter_failure), loaded by every run.
HOOKS = Path(fuzz_hooks.__file__)
# Past its budget, a run is given this long to finish its last requests and report; then it is
# taken for hung, and stopped.
GRACE_SECONDS = 90

# What every run checks: no 5xx; status code, media type, headers and body as documented; a
# request that breaks the schema refused; an undocumented method refused with 405 and an Allow
# header that lists the documented ones. Not positive_data_acceptance (ST202, "schema-valid
# request rejected"): it flags the 400s that no schema can express, for rules that need the
# database (an unknown category id, a username already taken, a second review of a product), a
# secret (a wrong password or token) or several fields at once (a password too like the email,
# price_min above price_max). Nor object_level_authorization: it needs two users' tokens.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
]
# The staff run also chains operations (the stateful phase, through the links schemathesis infers
# from the schema): what it creates must be readable (ensure_resource_availability), what it
# deletes gone (use_after_free), and an operation that declares security must refuse a request
# without the token (ignored_auth). Anonymously, nothing can be created, and no credentials could
# be left out.
STAFF_CHECKS = [*CHECKS, "use_after_free", "ensure_resource_availability", "ignored_auth"]
# How a request that breaks the schema may be refused: schemathesis' own list (less its 5xx, which
# fail not_a_server_error anyway) and 414. gunicorn refuses a request line longer than 4,094 bytes
# before Django sees it (a string in a query parameter far past its maxLength, percent-encoded),
# and the schema documents that 414 on every GET (apps/core/schema.py).
REJECTION_STATUSES = [
    "400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429"
]  # fmt: skip
# Warnings that mean the run did not test what it should: throttled requests, a part of the
# schema the fuzzer could not read or use.
FATAL_WARNINGS = [
    "rate_limited",
    "base_url_mismatch",
    "missing_deserializer",
    "unsupported_regex",
    "unresolvable_reference",
]
# Rates no run of the fuzzer reaches, for every throttle (THROTTLE_RATE_* in .env.example).
THROTTLE_SCOPES = [
    "ANON",
    "USER",
    "AUTH",
    "AUTH_ACCOUNT",
    "PASSWORD_RESET",
    "PASSWORD_RESET_ACCOUNT",
    "EMAIL_VERIFICATION",
    "EMAIL_VERIFICATION_ACCOUNT",
    "PASSWORD_CHECK",
    "PASSWORD_CHECK_ACCOUNT",
]


@dataclass
class FuzzRun:
    """One schemathesis process, as a subprocess writing its output and NDJSON report to disk."""

    name: str
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def output(self) -> str:
        return (self.directory / "output.txt").read_text(errors="replace")

    def findings(self) -> str:
        """Return what the run reports: everything from its first section of errors, failures
        or warnings (or its summary) on."""
        output = self.output
        sections = ("ERRORS", "FAILURES", "WARNINGS", "SUMMARY")
        starts = [output.find(f"= {section} =") for section in sections]
        found = [start for start in starts if start >= 0]
        return output[output.rfind("\n", 0, min(found)) + 1 :] if found else output

    def responses(self) -> Counter[tuple[str, str, int]]:
        """Return how many responses the run received, by method, path and status code."""
        answers: Counter[tuple[str, str, int]] = Counter()
        for report in self.directory.glob("reports/*.ndjson"):
            for line in report.read_text().splitlines():
                scenario = json.loads(line).get("ScenarioFinished")
                if scenario is None:
                    continue
                # A skipped scenario sent nothing.
                for interaction in scenario["recorder"].get("interactions", {}).values():
                    request, response = interaction["request"], interaction.get("response")
                    if response:
                        path = urlsplit(request["uri"]).path
                        answers[request["method"], path, response["status_code"]] += 1
        return answers


def seed_catalogue() -> None:
    """Create what the fuzzer's requests can find: a small catalogue, reviews, and accounts.

    Ids start at 1 (``reset_sequences``), where generated path parameters often land.
    """
    outdoor = CategoryFactory(name="Outdoor", slug="outdoor")
    tents = CategoryFactory(name="Tents", slug="tents", parent=outdoor)
    books = CategoryFactory(name="Books", slug="books")
    CategoryFactory(name="Archive", slug="archive", is_active=False)
    products = [
        ProductFactory(name="Trail Tent", slug="trail-tent", category=tents),
        ProductFactory(name="Camp Stove", slug="camp-stove", category=outdoor, stock=0),
        ProductFactory(name="Field Guide", slug="field-guide", category=books),
        ProductFactory(name="Old Map", slug="old-map", category=books, is_active=False),
    ]
    size = AttributeFactory(name="Size", slug="size", kind="choice", is_filterable=True)
    colour = AttributeFactory(name="Colour", slug="colour", kind="swatch")
    AttributeFactory(name="Pages", slug="pages", kind="number", unit="pages")
    medium = AttributeOptionFactory(attribute=size, value="M", slug="m")
    red = AttributeOptionFactory(attribute=colour, value="Red", slug="red", swatch_colour="#b3261e")
    tshirt = ProductTypeFactory(name="T-shirt", slug="t-shirt", has_variants=True)
    ProductTypeAttributeFactory(product_type=tshirt, attribute=size, is_axis=True)
    ProductTypeAttributeFactory(product_type=tshirt, attribute=colour)
    ProductTypeFactory(name="Book", slug="book")
    # A typed product: its page has attributes and options, its variant options.
    tee = product_with_options(
        tshirt, [medium.pk], name="Red Tee", slug="red-tee", sku="TEE-M", category=outdoor
    )
    ProductAttributeValue.objects.create(product=tee, attribute=colour, option=red)
    staff = UserFactory(email=STAFF_EMAIL, is_staff=True, is_superuser=True)
    customer = UserFactory(email="customer@example.com")
    # Hashed as production hashes: the test settings' fast MD5 is not among prod's hashers.
    hasher = PBKDF2PasswordHasher()
    User.objects.update(password=hasher.encode(TEST_PASSWORD, hasher.salt()))
    for product, rating in zip(products[:3], (5, 3, 1), strict=True):
        ReviewFactory(product=product, user=customer, rating=rating)
    ReviewFactory(product=products[0], user=staff, rating=4)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 120), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    """Return a multipart/form-data body with ``fields`` and one file as ``image``."""
    boundary = "fuzz-seed-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{file_name}"'
        "\r\nContent-Type: image/png\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def sign_in(server: ProdServer, email: str) -> str:
    """Return an access token for ``email``, from the live server's own token endpoint."""
    answer = server.request(
        "POST",
        "/api/v1/auth/token/",
        body=json.dumps({"email": email, "password": TEST_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200, answer.body
    return str(json.loads(answer.body)["access"])


def add_image(server: ProdServer, token: str) -> None:
    """Upload an image to the first product, so that image lists and details show one."""
    body, boundary = multipart(
        {"alt_text": "The tent, pitched", "position": "0"}, "tent.png", png()
    )
    answer = server.request(
        "POST",
        "/api/v1/products/1/images/",
        body=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert answer.status == 201, answer.body


def configuration(*, fatal_warnings: list[str]) -> str:
    """Return schemathesis.toml for one run."""
    listed = ", ".join(f'"{name}"' for name in fatal_warnings)
    rejections = ", ".join(f'"{status}"' for status in REJECTION_STATUSES)
    return (
        # Failures the tool cannot judge, dropped one by one (see the module).
        f'hooks = "{HOOKS}"\n\n'
        f"[warnings]\nfail-on = [{listed}]\n\n"
        f"[checks.negative_data_rejection]\nexpected-statuses = [{rejections}]\n\n"
        # Error feedback learns rules from 400 bodies, and takes the `errors` member of ours
        # for a field of the request: it "learned" that a body field `errors` requires an
        # `email`, and reported a body with an `errors: {}` that the server ignores as accepted
        # invalid data. The schema states every rule it needs.
        "[phases.fuzzing.error-feedback]\nenabled = false\n"
    )


def start_run(
    name: str,
    server: ProdServer,
    directory: Path,
    *,
    checks: list[str],
    phases: list[str],
    fatal_warnings: list[str],
    headers: dict[str, str] | None = None,
) -> FuzzRun:
    directory.mkdir()
    config = directory / "schemathesis.toml"
    config.write_text(configuration(fatal_warnings=fatal_warnings))
    command = [
        # The package's own entry point, from the interpreter running the tests: no reliance on
        # a `st` script on PATH.
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{server.url}/api/schema/?format=json",
        "--checks",
        ",".join(checks),
        "--phases",
        ",".join(phases),
        "--max-time",
        str(SECONDS),
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        # One worker: schemathesis' worker threads parse Python source concurrently (through
        # hypothesis' lambda descriptions), and CPython before 3.11.8 can fail that with
        # "SystemError: AST constructor recursion depth mismatch" (gh-106905), seen first on the
        # multipart image upload. The two runs go in parallel as processes instead.
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--no-color",
        "--report",
        "ndjson",
        "--report-dir",
        str(directory / "reports"),
    ]
    for header, value in (headers or {}).items():
        command += ["--header", f"{header}: {value}"]
    output = (directory / "output.txt").open("wb")
    process = subprocess.Popen(  # noqa: S603  # our interpreter, our arguments
        command, cwd=directory, stdout=output, stderr=subprocess.STDOUT
    )
    return FuzzRun(name, directory, process)


def wait_for(runs: list[FuzzRun], deadline: float) -> list[str]:
    """Wait for every run until ``deadline`` (time.monotonic()); return what went wrong."""
    problems = []
    for run in runs:
        try:
            run.process.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            run.process.kill()
            run.process.wait()
            problems.append(
                f"{run.name}: still running {GRACE_SECONDS} s past its budget of {SECONDS} s, "
                f"stopped\n{run.findings()}"
            )
            continue
        if run.process.returncode != 0:
            problems.append(
                f"{run.name}: schemathesis exited {run.process.returncode}\n{run.findings()}"
            )
    return problems


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_every_operation_answers_as_the_schema_says(tmp_path: Path) -> None:
    seed_catalogue()
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    environment = {
        "DATABASE_URL": live_database_url(connection.settings_dict),
        "REDIS_URL": REDIS_URL,
        # schemathesis sends Host: 127.0.0.1:<port>.
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,catalogue.example.com",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        # Account emails fail at once (nothing listens there) rather than wait on a mail server.
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(free_port()),
        "EMAIL_USE_TLS": "false",
        # Valid for the whole run (5 minutes by default).
        "JWT_ACCESS_MINUTES": "60",
        **{f"THROTTLE_RATE_{scope}": "1000000/minute" for scope in THROTTLE_SCOPES},
        # Nor the login lockout: the fuzzer signs in to the accounts it registers, with
        # passwords it makes up.
        "LOGIN_FAILURE_LIMIT": "1000000",
    }
    try:
        with ProdServer(environment, tmp_path / "gunicorn.log", workers=4) as server:
            token = sign_in(server, STAFF_EMAIL)
            add_image(server, token)
            deadline = time.monotonic() + SECONDS + GRACE_SECONDS
            runs = [
                start_run(
                    "anonymous",
                    server,
                    tmp_path / "anonymous",
                    checks=CHECKS,
                    phases=["examples", "coverage", "fuzzing"],
                    fatal_warnings=FATAL_WARNINGS,
                ),
                start_run(
                    "staff",
                    server,
                    tmp_path / "staff",
                    checks=STAFF_CHECKS,
                    phases=["examples", "coverage", "fuzzing", "stateful"],
                    fatal_warnings=FATAL_WARNINGS,
                    headers={"Authorization": f"Bearer {token}"},
                ),
            ]
            problems = wait_for(runs, deadline)
    finally:
        cache.flushdb()

    assert not problems, "\n\n".join(problems)
    anonymous, staff = (run.responses() for run in runs)
    # Each run reached the server's logic, accepting and refusing (a 5xx failed it above), and
    # the staff token worked: the staff run read its own account, which takes one.
    for answers in (anonymous, staff):
        statuses = {status for _, _, status in answers}
        assert any(200 <= status < 300 for status in statuses), statuses
        assert any(400 <= status < 500 for status in statuses), statuses
    assert staff["GET", "/api/v1/users/me/", 200] > 0, staff


# An operation like an image's PUT: a form or JSON body, no field required.
UPDATE_SCHEMA = {
    "openapi": "3.0.3",
    "info": {"title": "update", "version": "1"},
    "paths": {
        "/things/{id}/": {
            "put": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "requestBody": {
                    "content": {
                        media_type: {
                            "schema": {
                                "type": "object",
                                "properties": {"position": {"type": "integer", "minimum": 0}},
                            }
                        }
                        for media_type in (
                            "multipart/form-data",
                            "application/x-www-form-urlencoded",
                            "application/json",
                        )
                    }
                },
                "responses": {"200": {"description": "Updated."}},
            }
        }
    },
}


@pytest.mark.parametrize(
    ("media_type", "body", "kept"),
    [
        ("multipart/form-data", [], False),
        ("application/x-www-form-urlencoded", [], False),
        ("multipart/form-data", "text", False),
        ("multipart/form-data", {"position": -1}, True),
        ("application/x-www-form-urlencoded", {"position": "a"}, True),
        ("application/json", [], True),
    ],
)
def test_the_hooks_drop_only_accepted_form_bodies_that_no_form_can_carry(
    media_type: str, body: object, kept: bool
) -> None:
    # The hooks registered themselves when this module imported fuzz_hooks.
    operation = schemathesis.openapi.from_dict(UPDATE_SCHEMA)["/things/{id}/"]["PUT"]
    case = operation.Case(path_parameters={"id": 1}, body=body, media_type=media_type)
    failure = AcceptedNegativeData(
        operation="PUT /things/{id}/",
        message="Invalid data should have been rejected",
        status_code=200,
        expected_statuses=["400"],
    )
    response = Response(
        status_code=200,
        headers={},
        content=b"{}",
        request=requests.Request("PUT", "http://testserver/things/1/").prepare(),
        elapsed=0.01,
        verify=False,
    )
    other = Failure(operation="PUT /things/{id}/", title="Server error", message="500")

    assert should_keep_failure(failure, case, response) is kept
    assert should_keep_failure(other, case, response)  # any other failure stays
