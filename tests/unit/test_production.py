"""Production mode (issue #14 item 10): development secrets and default credentials are refused
by name. The real `nameko run` starts are in tests/integration/test_production_mode.py."""

import importlib
import inspect
import secrets

import pytest
import yaml

from ops.suite import COMPONENTS
from services.common import production
from services.common.config import ROOT, load_config

SECRET_OF = {
    "gateway": ["TOKEN_SECRET", "POSTAL_OPERATORS"],
    "intake": ["TRACKING_SECRET_KEY"],
    "payment": ["PROVIDER_SECRET"],
    "ministry": ["MINISTRY_SYSTEMS"],
}


def real_values() -> dict:
    return {
        "TOKEN_SECRET": secrets.token_urlsafe(48),
        "TRACKING_SECRET_KEY": secrets.token_hex(24),
        "PROVIDER_SECRET": secrets.token_hex(24),
        "POSTAL_OPERATORS": f"vnpost:{secrets.token_hex(8)}:{secrets.token_hex(16)}",
        "MINISTRY_SYSTEMS": f"moj:{secrets.token_hex(16)}:rw:*",
        "AMQP_URI": f"pyamqp://portal:{secrets.token_hex(12)}@rabbitmq:5672/",
        "MONGO_URI": f"mongodb://intake:{secrets.token_hex(12)}@mongo:27017/?authSource=portal_intake",
    }


def development_config(component: str, monkeypatch) -> dict:
    for name in [*production.SECRETS, "AMQP_URI", "MONGO_URI"]:
        monkeypatch.delenv(name, raising=False)
    return load_config(component)


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_the_development_defaults_are_refused_by_name(component, monkeypatch):
    found = production.problems(development_config(component, monkeypatch), environ={})
    expected = [f"{name} đang là giá trị dành cho phát triển" for name in SECRET_OF.get(component, [])]
    assert found == expected + ["AMQP_URI dùng tài khoản guest mặc định của RabbitMQ"]


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_real_secrets_pass(component, monkeypatch):
    config = {**development_config(component, monkeypatch), **real_values()}
    assert production.problems(config, environ={}) == []


@pytest.mark.parametrize(
    "name,value,why",
    [
        ("TOKEN_SECRET", "", "TOKEN_SECRET để trống"),
        ("TOKEN_SECRET", "change-me-to-32-or-more-random-bytes", "TOKEN_SECRET đang là giá trị dành cho phát triển"),
        ("TOKEN_SECRET", "short-but-random-8f3a", "TOKEN_SECRET ngắn hơn 32 ký tự"),
        (
            "POSTAL_OPERATORS",
            "vnpost:change-me-api-key:change-me-hmac-secret",
            "POSTAL_OPERATORS đang là giá trị dành cho phát triển",
        ),
        (
            "MINISTRY_SYSTEMS",
            "moj-hotich:change-me:rw:TP-HT-01|TP-HT-02",
            "MINISTRY_SYSTEMS đang là giá trị dành cho phát triển",
        ),
        ("PROVIDER_SECRET", "  ", "PROVIDER_SECRET để trống"),
        ("AMQP_URI", "pyamqp://guest:guest@rabbitmq:5672/", "AMQP_URI dùng tài khoản guest mặc định của RabbitMQ"),
        ("AMQP_URI", "pyamqp://rabbitmq:5672/", "AMQP_URI dùng tài khoản guest mặc định của RabbitMQ"),
        (
            "AMQP_URI",
            "pyamqp://portal:dev-only-rabbit-password@rabbitmq:5672/",
            "AMQP_URI có mật khẩu dành cho phát triển",
        ),
        (
            "MONGO_URI",
            "mongodb://intake:dev-only-intake-db-password@mongo:27017/",
            "MONGO_URI có mật khẩu dành cho phát triển",
        ),
    ],
)
def test_each_bad_value_is_named(name, value, why):
    assert production.problems({**real_values(), name: value}, environ={}) == [why]


def test_a_test_clock_is_refused():
    found = production.problems(real_values(), environ={"PORTAL_CLOCK_FILE": "/tmp/clock.json"})
    assert found == ["PORTAL_CLOCK_FILE đang được đặt (đồng hồ dành cho kiểm thử)"]


def test_only_production_mode_refuses(monkeypatch):
    config = development_config("gateway", monkeypatch)
    production.check(config, "gateway", environ={})  # development: the defaults are fine
    production.check(config, "gateway", environ={"PORTAL_ENV": "development"})
    with pytest.raises(SystemExit) as refused:
        production.check(config, "gateway", environ={"PORTAL_ENV": "Production"})
    assert refused.value.code != 0 and "TOKEN_SECRET" in str(refused.value.code)


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_every_component_has_the_guard(component):
    module, cls = COMPONENTS[component].split(":")
    members = inspect.getmembers(getattr(importlib.import_module(module), cls))
    assert any(isinstance(m, production.ProductionGuard) for _, m in members)


def test_compose_runs_in_production_mode():
    text = (ROOT / "deploy" / "docker-compose.yml").read_text()
    assert "  PORTAL_ENV: ${PORTAL_ENV:-production}\n" in text
    doc = yaml.safe_load(text)  # (nameko's YAML loader, once imported, substitutes the ${...})
    for name in COMPONENTS:
        assert "PORTAL_ENV" in doc["services"][name]["environment"]
    assert "\nPORTAL_ENV=production\n" in (ROOT / "deploy" / ".env.example").read_text()


@pytest.mark.parametrize("component", sorted(SECRET_OF))
def test_a_secret_left_out_of_the_configuration_is_refused_like_its_default(component, monkeypatch):
    """A hand-written configuration without the secret's line would run on the settings' default,
    the development value: production mode refuses it by name."""
    module, cls = COMPONENTS[component].split(":")
    service_cls = getattr(importlib.import_module(module), cls)
    config = {**development_config(component, monkeypatch), **real_values()}
    for name in SECRET_OF[component]:
        del config[name]
    effective = production.effective_config(service_cls, config)
    found = production.problems(effective, environ={})
    assert found == [f"{name} đang là giá trị dành cho phát triển" for name in SECRET_OF[component]]
