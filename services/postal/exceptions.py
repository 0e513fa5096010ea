"""Errors raised by postal (PortalErrors with stable codes)."""
from services.common.errors import Conflict, NotFound


def shipment_not_found(sid: str) -> NotFound:
    return NotFound("Không tìm thấy bưu gửi", {"shipment_id": sid}, "shipment_not_found")


def impossible(current: str, wanted: str, allowed: tuple) -> Conflict:
    return Conflict(f"Không thể chuyển bưu gửi từ '{current}' sang '{wanted}'",
                    {"status": current, "requested": wanted, "allowed": list(allowed)}, "impossible_transition")
