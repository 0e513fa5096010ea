"""Base pydantic models: every payload forbids unknown fields."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from . import error_catalogue as catalogue
from .errors import pydantic_details
from .files import safe_filename

M = TypeVar("M", bound=BaseModel)

# Page numbers are bounded so that (page - 1) * page_size always fits the 8-byte integer a
# MongoDB skip takes, whatever a client sends: 10 000 pages of 100 is beyond any real listing.
MAX_PAGE, MAX_PAGE_SIZE = 10_000, 100
PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"1..{MAX_PAGE}")]
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description=f"1..{MAX_PAGE_SIZE}")]
# Amounts in VND and version numbers likewise stay far below 2**63.
MAX_VND, MAX_VERSION = 10**12, 10**6
# A file's name is stored as sent once made safe: a name with a line break or a path in it is
# not refused, its harmful parts are dropped (safe_filename).
FileName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(safe_filename)]


def page_bounds(page: Any, page_size: Any) -> tuple[int, int]:
    """Clamp a page and page size that an RPC caller passed directly (not through a query model)."""
    try:
        page, page_size = int(page), int(page_size)
    except (TypeError, ValueError):
        raise catalogue.error("invalid_page", {"page": str(page)[:20], "page_size": str(page_size)[:20]}) from None
    return min(MAX_PAGE, max(1, page)), min(MAX_PAGE_SIZE, max(1, page_size))


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
        raise catalogue.error("validation_failed", pydantic_details(exc)) from None


def dump(model: BaseModel) -> dict:
    return model.model_dump(mode="json")
