"""The postal service's public payloads: pickups, the operator's filings and updates, shipments."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from services.common.schemas import MAX_VND, Payload, View

Status = Literal["requested", "picked_up", "in_transit", "delivered", "failed_attempt", "returned_to_sender", "lost"]


class Address(Payload):
    line: str = Field(min_length=5, max_length=500)
    province_code: str = Field(pattern=r"^\d{2}$", description="mã tỉnh (52 = Bình Định)")


class PostalContact(Payload):
    name: str = Field(min_length=2, max_length=200)
    phone: str = Field(pattern=r"^(\+84|0)\d{9,10}$")


class PickupRequest(Payload):
    """Citizen asks the postal operator to collect a paper dossier (R28)."""

    procedure_code: str
    address: Address
    contact: PostalContact
    window_start: datetime
    window_end: datetime = Field(description="after window_start (422 invalid_window otherwise)")


class FileOnBehalf(Payload):
    """Postal staff file the collected dossier for the citizen."""

    form_data: dict[str, Any]
    delivery_method: Literal["in_person", "post", "online"]
    delivery_address: str | None = None
    delivery_province_code: str | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)


class Proof(Payload):
    receiver_name: str = Field(min_length=2, max_length=200)
    relation: str = Field(default="người nhận", max_length=100)
    photo_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class OperatorUpdate(Payload):
    """A status update from the operator, idempotent by its own event id."""

    event_id: str = Field(min_length=6, max_length=100)
    status: Status
    at: datetime
    note: str | None = Field(default=None, max_length=1000)
    proof: Proof | None = None
    costs_vnd: int | None = Field(default=None, ge=0, le=MAX_VND, description="for a loss: the costs to compensate")


class Shipment(View):
    id: str
    kind: Literal["pickup", "return"]
    operator_id: str
    status: str
    dossier_code: str | None = None
    procedure_code: str | None = None
    address: dict[str, Any]
    contact: dict[str, Any] | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    ready_at: datetime | None = None
    due_at: datetime | None = None
    delivered_at: datetime | None = None
    late: bool | None = None
    proof: dict[str, Any] | None = None
    updates: list[dict[str, Any]] = Field(default_factory=list)
    compensation: dict[str, Any] | None = None
    created_at: datetime


class ShipmentPage(View):
    items: list[Shipment]
    total: int


class ShipmentQuery(Payload):
    status: Status | None = None
    kind: Literal["pickup", "return"] | None = None
    limit: int = Field(default=50, ge=1, le=200)


class ReturnStats(View):
    returns: int
    delivered_on_time: int
    delivered_late: int
    open: int
    open_overdue: int
    lost: int
