"""Errors raised by payment: the catalogue's (services/common/error_catalogue.py), with their details."""

from services.common import error_catalogue as catalogue
from services.common.errors import Conflict, NotFound, Unauthorized, ValidationFailed


def no_fee_due(code: str) -> NotFound:
    return catalogue.error("no_fee_due", {"dossier_code": code})


def payment_not_found(pid: str) -> NotFound:
    return catalogue.error("payment_not_found", {"payment_id": pid})


def already_paid(code: str) -> Conflict:
    return catalogue.error("already_paid", {"dossier_code": code})


def bad_callback(reason: str) -> Unauthorized:
    return catalogue.error("invalid_callback", {"reason": reason}, f"Kết quả thanh toán không hợp lệ: {reason}")


def no_refund_uncollected() -> Conflict:
    return catalogue.error("no_refund_result_produced")


def over_refund(remaining: int) -> ValidationFailed:
    return catalogue.error("over_refund", {"refundable_vnd": remaining})
