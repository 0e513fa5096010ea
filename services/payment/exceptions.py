"""Errors raised by payment: the catalogue's (services/common/error_catalogue.py), with their details."""

from services.common import error_catalogue as catalogue
from services.common.errors import PortalError


def no_fee_due(code: str) -> PortalError:
    return catalogue.error("no_fee_due", {"dossier_code": code})


def payment_not_found(pid: str) -> PortalError:
    return catalogue.error("payment_not_found", {"payment_id": pid})


def already_paid(code: str) -> PortalError:
    return catalogue.error("already_paid", {"dossier_code": code})


def bad_callback(reason: str) -> PortalError:
    return catalogue.error("invalid_callback", {"reason": reason}, f"Kết quả thanh toán không hợp lệ: {reason}")


def no_refund_uncollected() -> PortalError:
    return catalogue.error("no_refund_result_produced")


def over_refund(remaining: int) -> PortalError:
    return catalogue.error("over_refund", {"refundable_vnd": remaining})
