"""The processing service's own payloads: the commands it makes itself (the applicant's, the
system's, a ministry system's read) and the case statuses its clock and sweeps are about. Those
officials send through the gateway are in contracts.processing."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from contracts.processing import CommandBase
from services.common.schemas import Payload

CLOCK_STATUSES = ("received", "in_review", "proposed", "approved", "refusal_drafted", "refusal_signed")


class Withdraw(CommandBase):
    """Rút hồ sơ: the applicant withdraws before the agency receives the dossier."""

    action: Literal["withdraw"]
    reason: str | None = Field(default=None, max_length=2000)


class SupplementCommand(CommandBase):
    """Bổ sung (và sửa đổi) hồ sơ: files staged by intake, corrected form fields (Art. 15.4)."""

    action: Literal["supplement"]
    staging_id: str | None = None
    attachment_ids: list[str] = Field(default_factory=list, max_length=20)
    amendments: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class CollectResult(CommandBase):
    """Online return (R16): the applicant downloads the signed result."""

    action: Literal["collect_result"]


class FeePaid(CommandBase):
    action: Literal["fee_paid"]
    payment_id: str


class RedoAfterLoss(CommandBase):
    """R30: the result was lost in the post; the agency redoes it."""

    action: Literal["redo_after_loss"]
    shipment_id: str


class DeadlineFlag(CommandBase):
    action: Literal["deadline_flag"]


class ExternalRead(CommandBase):
    """R31: a ministry system read the dossier (written into the history)."""

    action: Literal["external_read"]
    system_id: str
    issue: str


class Supplement(Payload):
    """The citizen's supplement: files for documents on the procedure's list, a note, and corrections
    to the form they filed (field → new value)."""

    attachments: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    form_changes: dict[str, Any] = Field(default_factory=dict, description="eForm fields to correct (Art. 15.4)")
    note: str | None = Field(default=None, max_length=2000)
