"""Gateway tokens and the OpenAPI document, without a network."""

import time
from unittest.mock import MagicMock

import jwt
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

import gateway.service  # noqa: F401  (registers the routes)
from gateway.api import ROUTES
from gateway.dependencies import TokenAuth
from gateway.openapi import build_openapi
from gateway.settings import GatewaySettings
from services.common.errors import RateLimited, Unauthorized

SETTINGS = GatewaySettings(
    token_secret="unit-test-secret-0123456789abcdef0123",
    token_ttl_seconds=60,
    login_max_attempts=2,
    login_window_seconds=60,
)


def request_with(token: str | None) -> Request:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Request(EnvironBuilder(headers=headers).get_environ())


def auth(revoked=False):
    store = MagicMock()
    store.is_revoked.return_value = revoked
    return TokenAuth(SETTINGS, store)


def test_issue_and_verify():
    a = auth()
    tok = a.issue({"id": "u1", "role": "citizen"})
    claims = a.verify(request_with(tok["access_token"]))
    assert claims["sub"] == "u1" and claims["role"] == "citizen" and claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize(
    "make,code",
    [
        (lambda c: None, "auth_required"),
        (lambda c: "garbage", "invalid_token"),
        (
            lambda c: jwt.encode({**c, "role": "operator"}, "other-secret-0123456789abcdef0123", algorithm="HS256"),
            "invalid_token",
        ),
        (
            lambda c: jwt.encode({**c, "exp": int(time.time()) - 1}, SETTINGS.token_secret, algorithm="HS256"),
            "token_expired",
        ),
        (
            lambda c: jwt.encode({k: v for k, v in c.items() if k != "jti"}, SETTINGS.token_secret, algorithm="HS256"),
            "invalid_token",
        ),
    ],
)
def test_rejected_tokens(make, code):
    a = auth()
    claims = jwt.decode(a.issue({"id": "u1", "role": "citizen"})["access_token"], options={"verify_signature": False})
    with pytest.raises(Unauthorized) as info:
        a.verify(request_with(make(claims)))
    assert info.value.code == code


def test_revoked_token():
    a = auth(revoked=True)
    tok = a.issue({"id": "u1", "role": "citizen"})["access_token"]
    with pytest.raises(Unauthorized) as info:
        a.verify(request_with(tok))
    assert info.value.code == "token_revoked"


def test_login_limit_after_failures():
    a = auth()
    a.store.count.side_effect = lambda key, window: (2 if key.startswith("login:id:") else 0, 30)
    with pytest.raises(RateLimited) as info:
        a.check_login_allowed("an@example.vn", "10.0.0.1")
    assert info.value.details["retry_after_seconds"] == 30


def test_openapi_covers_every_route_and_refs_resolve():
    doc = build_openapi()
    for spec in ROUTES:
        assert spec.method.lower() in doc["paths"][spec.path], spec.path
    schemas = doc["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for ref in refs(doc):
        assert ref.split("/")[-1] in schemas, ref


def test_a_silent_service_is_a_503_not_a_hung_request():
    """The RPC deadline used to escape as eventlet.Timeout, a BaseException: the routes catch
    Exception, so the worker ended without an answer and the HTTP request hung (found by
    tests/e2e/test_reliability.py when intake was killed with a filing in flight)."""
    import eventlet
    from nameko.testing.services import worker_factory

    from gateway.service import GatewayService
    from services.common.errors import ServiceUnavailable

    gw = worker_factory(GatewayService)
    gw.settings = GatewaySettings(rpc_timeout=0.1)
    gw.intake_proxy.file_dossier.side_effect = lambda *a: eventlet.sleep(10)
    with pytest.raises(ServiceUnavailable) as refused:
        gw.intake.file_dossier({}, {})
    assert isinstance(refused.value, Exception) and refused.value.status == 503
