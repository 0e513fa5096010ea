"""Typed settings (issue #16 part 4): each component declares its settings once, their defaults are
config.yaml's, a bad value refuses the start by name, and no use site reads a setting from the raw
configuration."""

import importlib
import inspect
import re

import pytest
from nameko.containers import ServiceContainer

from ops.suite import COMPONENTS
from services.common.config import ROOT, config_path, load_config
from services.common.settings import ServiceSettings, Settings, SettingsRefused

# nameko's own keys (and the bind address): read by nameko and the plumbing, not application settings
NAMEKO_KEYS = {"AMQP_URI", "MONGO_URI", "MONGO_DB", "WEB_SERVER_ADDRESS", "max_workers", "LOGGING"}


def service_class(component: str) -> type:
    module, _, name = COMPONENTS[component].partition(":")
    return getattr(importlib.import_module(module), name)


def model_of(component: str) -> type[ServiceSettings]:
    found = [v.model for _, v in inspect.getmembers(service_class(component), lambda v: isinstance(v, Settings))]
    assert len(found) == 1, f"{component} declares {len(found)} Settings"
    return found[0]


def yaml_settings(component: str) -> dict[str, str]:
    """KEY → the environment variable its ``${ENV:default}`` reads, for the application keys."""
    text = config_path(component).read_text(encoding="utf-8")
    return {
        key: env for key, env in re.findall(r"^([A-Za-z_]+): \$\{([A-Z0-9_]+):", text, re.M) if key not in NAMEKO_KEYS
    }


def without_environment(component: str, monkeypatch) -> dict:
    for env in re.findall(r"\$\{([A-Z0-9_]+):", config_path(component).read_text(encoding="utf-8")):
        monkeypatch.delenv(env, raising=False)
    return load_config(component)


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_each_setting_is_declared_once_under_its_own_name(component):
    model = model_of(component)
    assert model.__module__ == f"{'gateway' if component == 'gateway' else f'services.{component}'}.settings"
    declared = {field.alias for field in model.model_fields.values()}
    in_yaml = yaml_settings(component)
    assert declared == set(in_yaml), "config.yaml and the settings model list different settings"
    # the variable operators set is the setting's own name (deploy/.env.example, Compose)
    assert all(key == env for key, env in in_yaml.items())


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_the_typed_defaults_are_config_yaml_s(component, monkeypatch):
    model = model_of(component)
    assert model.from_config(without_environment(component, monkeypatch), component) == model()


def test_environment_values_arrive_typed(monkeypatch):
    from gateway.settings import GatewaySettings
    from services.notification.settings import NotificationSettings

    monkeypatch.setenv("RPC_TIMEOUT", "2.5")
    monkeypatch.setenv("WEB_SECURE_COOKIES", "true")
    monkeypatch.setenv("HEALTH_SERVICES", " intake, payment ,")
    gateway = GatewaySettings.from_config(load_config("gateway"), "gateway")
    assert (gateway.rpc_timeout, gateway.web_secure_cookies, gateway.health_services) == (
        2.5,
        True,
        ("intake", "payment"),
    )
    monkeypatch.setenv("HEALTH_SERVICES", "")  # nobody to ask (an empty value reaches us as None)
    assert GatewaySettings.from_config(load_config("gateway"), "gateway").health_services == ()
    monkeypatch.setenv("SMTP_USER", "")
    monkeypatch.setenv("SMTP_FROM", "")
    notification = NotificationSettings.from_config(load_config("notification"), "notification")
    assert notification.smtp_user is None and notification.smtp_from == ""


def test_province_code_given_as_a_number_is_text():
    from services.intake.settings import IntakeSettings

    assert IntakeSettings.model_validate({"PROVINCE_CODE": 52}).province_code == "52"


@pytest.mark.parametrize(
    "component, key, value",
    [
        ("intake", "MAX_ATTACHMENTS", "many"),
        ("gateway", "RPC_TIMEOUT", "soon"),
        ("gateway", "WEB_SECURE_COOKIES", "maybe"),
        ("notification", "SMS_ADAPTER", "pigeon"),
        ("reporting", "ONLINE_FILING_TARGETS", "2025=40"),
        ("processing", "FEE_PAYABLE_AT_DESK", "sometimes"),
    ],
)
def test_a_bad_value_refuses_the_start_naming_the_variable(component, key, value):
    config = {**load_config(component), key: value}
    with pytest.raises(SettingsRefused) as refused:
        ServiceContainer(service_class(component), config)  # bind: before anything connects
    message = str(refused.value.code)
    assert refused.value.code != 0 and message.startswith(f"{component}: ") and key in message
    assert repr(value) in message


def test_a_secret_is_never_repeated_in_the_refusal():
    from services.payment.settings import PaymentSettings

    with pytest.raises(SettingsRefused) as refused:
        PaymentSettings.from_config({"PROVIDER_SECRET": ["a-real-secret"]}, "payment")
    assert "PROVIDER_SECRET" in str(refused.value.code) and "a-real-secret" not in str(refused.value.code)


def test_extensions_read_the_service_s_one_settings(monkeypatch):
    from gateway.service import GatewayService
    from gateway.settings import GatewaySettings

    monkeypatch.setenv("FILING_MAX_WAITING", "7")
    container = ServiceContainer(GatewayService, load_config("gateway"))
    settings = Settings.of(container, GatewaySettings)
    assert settings.filing_max_waiting == 7
    assert [d.value for d in container.dependencies if isinstance(d, Settings)] == [settings]


def test_no_use_site_reads_a_setting_from_the_raw_configuration():
    """``config.get("RPC_TIMEOUT", 20)`` at a use site is a second default and a cast of its own: every
    setting is read from the service's typed settings."""
    keys = {field.alias for component in COMPONENTS for field in model_of(component).model_fields.values()}
    pattern = re.compile(r"""["'](%s)["']""" % "|".join(sorted(keys)))
    exempt = {ROOT / "services" / "common" / "production.py"}  # checks the raw values (production mode)
    found = []
    for path in [*(ROOT / "services").rglob("*.py"), *(ROOT / "gateway").rglob("*.py")]:
        if path.name == "settings.py" or path in exempt:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "settings read outside the typed settings:\n" + "\n".join(found)
