"""The OpenAPI document tells the truth (issue #14, item 3): schemathesis generates valid and
invalid requests for every operation, as a citizen, as an official and as the postal operator,
against the running suite, and every answer must be no server error, a status the operation
documents, with the content type and body schema it documents. Bounded: a fixed number of
examples per operation, derandomised so that every run tries the same requests."""

from itertools import islice
from urllib.parse import urlsplit

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.test_postal import VNPOST, signed_headers
from tests.e2e.test_processing_journey import login, official
from tests.helpers import new_citizen

EXAMPLES = 10  # generated per operation and mode, each sent as a citizen and as an official
COVERAGE = 30  # boundary cases per operation and mode
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXCLUDED = {
    # Failed sign-ins count against the client address, which every e2e test shares (127.0.0.1):
    # fuzzing it would lock the later tests out. Its answers are covered by test_bad_input and
    # test_hardening.
    ("POST", "/api/v1/auth/login"),
    # Revokes the very token the run is using.
    ("POST", "/api/v1/auth/logout"),
}


class PostalSigningSession(requests.Session):
    """Signs every request as the postal operator, so its routes are fuzzed past the signature."""

    def __init__(self, creds: tuple[str, str]):
        super().__init__()
        self.creds = creds

    def send(self, request, **kwargs):
        body = request.body or b""
        signed = signed_headers(
            request.method, urlsplit(request.url).path, body.encode() if isinstance(body, str) else body, self.creds
        )
        signed.pop("Content-Type")  # the case's own, which a negative case may have made wrong
        request.headers.update(signed)
        return super().send(request, **kwargs)


def _callers(api: str) -> dict:
    profile = new_citizen()
    requests.post(f"{api}/auth/register", json=profile, timeout=30).raise_for_status()
    return {
        "citizen": (requests.Session(), login(api, profile["email"], profile["password"])),
        "official": (requests.Session(), official(api, "off-gr-reception")),
        "postal": (PostalSigningSession(VNPOST), {}),
    }


def _coverage_cases(op, mode) -> list:
    """Schemathesis's coverage phase: boundary and just-out-of-bounds values of every parameter and
    field (the huge page numbers, the over-long strings), deterministic, at most COVERAGE of them."""
    config = op.schema.config.generation_for(operation=op, phase="coverage")
    return list(islice(op.schema.iter_coverage_cases(op, generation_modes=[mode], generation_config=config), COVERAGE))


def test_every_operation_answers_as_documented(suite):
    schema = schemathesis.openapi.from_url(f"{suite['api']}/openapi.json")
    callers = _callers(suite["api"])
    failures, operations = [], 0
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in EXCLUDED:
            continue
        operations += 1
        postal = op.definition.raw.get("x-auth") == "postal"
        names = ("postal",) if postal else ("citizen", "official")
        # The signing session replaces whatever security headers a negative case left out.
        checks = [c for c in CHECKS if c is not negative_data_rejection] if postal else CHECKS

        def call(case):
            for name in names:
                session, headers = callers[name]
                case.call_and_validate(
                    base_url=suite["url"], session=session, headers=headers, checks=checks, timeout=30
                )

        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            run = given(case=op.as_strategy(generation_mode=mode))(call)
            run = settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(run)
            for case in _coverage_cases(op, mode):
                run = example(case=case)(run)
            try:
                run()
            except Unsatisfiable:
                pass  # negative mode: nothing in this operation can be made invalid
            except (Exception, BaseExceptionGroup) as exc:  # every operation's failures, reported together
                failures.append(f"{op.method.upper()} {op.path} ({mode.value}):\n{exc}")
    assert operations > 50, "the OpenAPI document lost its operations"
    assert not failures, "\n\n".join(failures)
