"""Errors raised by feedback (PortalErrors with stable codes)."""
from services.common.errors import Conflict, NotFound


def feedback_not_found(fid: str) -> NotFound:
    return NotFound("Không tìm thấy phản ánh, kiến nghị", {"feedback_id": fid}, "feedback_not_found")


def already_rated(code: str) -> Conflict:
    return Conflict("Hồ sơ này đã được đánh giá", {"dossier_code": code}, "already_rated")


def not_delivered(status: str) -> Conflict:
    return Conflict("Chỉ đánh giá được sau khi đã nhận kết quả", {"status": status}, "not_delivered")
