"""One typed settings object per service, parsed once from the container's configuration.

Each service declares its application settings once, as a :class:`ServiceSettings` model in its
own ``settings.py`` (``gateway/settings.py`` for the gateway), and gets them through the one
dependency provider, ``settings = Settings(IntakeSettings)``: workers read
``self.settings.max_attachment_bytes``, never ``config.get("MAX_ATTACHMENT_BYTES", …)`` with a cast
and a default of their own at the use site.

Where the values come from does not change: ``config.yaml`` (``${ENV:default}``, loaded by nameko or
by :mod:`services.common.config`) stays the source, and its defaults are the model's defaults
(``tests/unit/test_settings.py`` fails when the two differ). A field's name is its configuration key
(and environment variable) in lower case. Nameko's own keys — ``AMQP_URI``, ``MONGO_URI``,
``MONGO_DB``, ``max_workers``, ``LOGGING``, … — are not settings here: the extensions that use them
read them as nameko does.

The settings are parsed when the container is built (:meth:`Settings.bind`), before any extension
connects to anything, so a value that is not what its setting takes stops ``nameko run`` at once
with a message naming the variable, instead of failing a request later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeVar

from nameko.extensions import DependencyProvider
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .error_catalogue import pydantic_message
from .production import SECRETS

log = logging.getLogger(__name__)

S = TypeVar("S", bound="ServiceSettings")


class SettingsRefused(SystemExit):
    """Ends ``nameko run`` with status 1 and the settings at fault on stderr."""


class ServiceSettings(BaseModel):
    """Base of every service's settings."""

    # Keys are upper case in config.yaml and the environment; fields are their lower-case names.
    # YAML has already typed the values (``${PROVINCE_CODE:52}`` arrives as the number 52), so a
    # number is accepted where text is expected. Unknown keys are nameko's own: ignored.
    model_config = ConfigDict(
        alias_generator=str.upper, populate_by_name=True, extra="ignore", frozen=True, coerce_numbers_to_str=True
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_text(cls, data: Any) -> Any:
        """``NAME=`` (or ``${NAME:}``) reaches us as None, since YAML reads an empty value as null: for a
        text setting that is the empty text, as it was when each use site wrote ``or ""``."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if key in data and data[key] is None and field.annotation is str:
                data[key] = ""
        return data

    @classmethod
    def from_config(cls: type[S], config: Mapping[str, Any], service: str) -> S:
        """The settings in ``config`` (a nameko container's); :class:`SettingsRefused` naming each
        variable whose value is wrong."""
        try:
            return cls.model_validate(config)
        except ValidationError as exc:
            found = "; ".join(_problem(error) for error in exc.errors())
            log.critical("%s không khởi động được, cấu hình sai: %s", service, found)
            raise SettingsRefused(f"{service}: không khởi động được, cấu hình sai: {found}") from None


def _problem(error: Mapping[str, Any]) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "settings"
    # A secret's value is never repeated into logs; others are, so the operator sees what was read.
    shown = "" if name in SECRETS else f" (giá trị đọc được: {error.get('input')!r})"
    return f"{name}: {pydantic_message(error)}{shown}"


class Settings(DependencyProvider):  # type: ignore[misc]  # nameko is untyped
    """``settings = Settings(IntakeSettings)``: workers receive the parsed settings (one object per
    container, shared and immutable)."""

    def __init__(self, model: type[ServiceSettings]):
        self.model = model
        self.value: ServiceSettings | None = None

    def bind(self, container: Any, attr_name: str) -> Settings:
        bound: Settings = super().bind(container, attr_name)  # nameko's bind returns a copy of self
        # At bind, like the production guard: a bad value refuses the start before anything connects.
        bound.value = bound.model.from_config(container.config, container.service_name)
        return bound

    def get_dependency(self, worker_ctx: Any) -> ServiceSettings | None:
        return self.value

    @staticmethod
    def of(container: Any, model: type[S]) -> S:
        """The settings the service's own :class:`Settings` parsed, for the extensions (entrypoints,
        other dependency providers) that read a setting outside a worker."""
        for dependency in container.dependencies:
            if isinstance(dependency, Settings) and isinstance(dependency.value, model):
                return dependency.value
        raise LookupError(f"{container.service_name} declares no Settings({model.__name__})")
