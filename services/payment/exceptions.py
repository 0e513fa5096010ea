"""Errors raised by payment (PortalErrors with stable codes)."""
from services.common.errors import Conflict, NotFound, Unauthorized, ValidationFailed


def no_fee_due(code: str) -> NotFound:
    return NotFound("Hồ sơ này không có phí thanh toán trực tuyến", {"dossier_code": code}, "no_fee_due")


def payment_not_found(pid: str) -> NotFound:
    return NotFound("Không tìm thấy giao dịch", {"payment_id": pid}, "payment_not_found")


def already_paid(code: str) -> Conflict:
    return Conflict("Phí của hồ sơ đã được thanh toán", {"dossier_code": code}, "already_paid")


def bad_callback(reason: str) -> Unauthorized:
    return Unauthorized(f"Kết quả thanh toán không hợp lệ: {reason}", {"reason": reason}, "invalid_callback")


def no_refund_uncollected() -> Conflict:
    return Conflict("Cơ quan đã có kết quả; người nộp không nhận kết quả thì không được hoàn phí (Điều 7.3)",
                    None, "no_refund_result_produced")


def over_refund(remaining: int) -> ValidationFailed:
    return ValidationFailed("Số tiền hoàn vượt quá số đã thanh toán", {"refundable_vnd": remaining}, "over_refund")
