"""Errors raised by postal: the catalogue's (services/common/error_catalogue.py), with their details."""

from services.common import error_catalogue as catalogue
from services.common.errors import Conflict, NotFound


def shipment_not_found(sid: str) -> NotFound:
    return catalogue.error("shipment_not_found", {"shipment_id": sid})


def impossible(current: str, wanted: str, allowed: tuple) -> Conflict:
    return catalogue.error(
        "impossible_transition",
        {"status": current, "requested": wanted, "allowed": list(allowed)},
        f"Không thể chuyển bưu gửi từ '{current}' sang '{wanted}'",
    )
