"""Schemathesis against the API's own OpenAPI document (issue 17): generated requests for every
operation, bounded, on SQLite and PostgreSQL. Every response must be a documented status with the
documented content type and shape, and never a server error."""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Iterator

import pytest
import schemathesis
from factories import jpeg_bytes, photo
from hypothesis import HealthCheck
from hypothesis.errors import Unsatisfiable
from hypothesis import settings as hsettings

from schemathesis.specs.openapi.checks import positive_data_acceptance
from test_api import Desk
from verify.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: Examples per operation: enough to hit the edges of each parameter, bounded for a shared 2-core box.
import os

EXAMPLES = int(os.environ.get("VERIFY_SCHEMATHESIS_EXAMPLES", "12"))


@pytest.fixture
def api_desk(settings: Settings) -> Iterator[Desk]:
    desk = Desk(replace(settings, max_file_bytes=2_000_000, offline=True))  # links: never the network
    first = desk.upload(jpeg_bytes(photo(5))).json()["item"]  # item 1 exists, so item paths reach real code
    desk.client.post(f"/v1/items/{first['id']}/warnings", headers=desk.h("reporter"), json={"category": "children"})
    yield desk
    desk.close()


def test_api_conforms_to_its_schema(api_desk: Desk) -> None:
    """Every operation, ``EXAMPLES`` generated cases each (with an admin token, so the generated
    data, not the role, decides the answer). Failures are collected and shown together."""
    from hypothesis import given

    schema = schemathesis.openapi.from_asgi("/openapi.json", api_desk.app)
    headers = api_desk.h("admin")
    failures: list[str] = []
    operations = 0
    from schemathesis import GenerationMode

    for result, mode in ((r, m) for r in schema.get_all_operations() for m in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
        operation = result.ok()
        operations += mode is GenerationMode.POSITIVE

        @given(case=operation.as_strategy(generation_mode=mode))
        @hsettings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                   database=None)  # fmt: skip
        def run(case) -> None:  # type: ignore[no-untyped-def]
            # A file part is "binary" to the schema, which cannot say "a picture that decodes": a
            # text file sent as the upload is refused (422, a readable problem), so for the upload
            # operations the "valid data must be accepted" check does not apply. Nor to POST /v1/links:
            # a schema cannot say "a link that answers" (this desk runs offline: every link is a
            # readable 422 problem, which the other checks still validate). All others do.
            uncheckable = "multipart/form-data" in str(operation.definition.raw) or operation.path == "/v1/links"
            excluded = [positive_data_acceptance] if uncheckable else []
            case.call_and_validate(headers=headers, excluded_checks=excluded)

        try:
            run()
        except Unsatisfiable:  # no request can violate this operation's schema (GET /v1/health)
            pass
        except BaseException as exc:  # noqa: BLE001 - hypothesis raises an ExceptionGroup; reported below
            failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {str(exc)[:1500]}")
    assert operations >= 15
    assert not failures, "\n\n".join(failures)
