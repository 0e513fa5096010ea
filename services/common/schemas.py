"""Base pydantic models: every payload forbids unknown fields."""
from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ValidationFailed, pydantic_details

M = TypeVar("M", bound=BaseModel)


class Payload(BaseModel):
    """Inbound/outbound message. Unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class View(BaseModel):
    """Outbound view of a stored document: fields not in the model (internal
    bookkeeping such as outbox, version, hashes) are left out, never exposed."""

    model_config = ConfigDict(extra="ignore")


def parse(model: type[M], data: Any, what: str = "payload") -> M:
    """Validate ``data`` into ``model`` or raise ValidationFailed with field details."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # ``what`` names the payload for developers reading the code; people read the fields' messages.
        raise ValidationFailed("Thông tin chưa hợp lệ. Vui lòng kiểm tra các mục được đánh dấu.",
                               details=pydantic_details(exc)) from None


def dump(model: BaseModel) -> dict:
    return model.model_dump(mode="json")
