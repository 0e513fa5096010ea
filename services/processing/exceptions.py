"""Errors raised by processing: the catalogue's (services/common/error_catalogue.py), with their details."""

from services.common import error_catalogue as catalogue
from services.common.errors import Conflict, NotFound


def case_not_found(code: str) -> NotFound:
    return catalogue.error("dossier_not_found", {"dossier_code": code}, f"Không tìm thấy hồ sơ {code}")


def case_not_ready(code: str) -> Conflict:
    return catalogue.error("case_not_ready", {"dossier_code": code, "retry_after_seconds": 2})


def not_withdrawable(status: str) -> Conflict:
    return catalogue.error(
        "withdraw_not_allowed",
        {"status": status},
        f"Hồ sơ ở trạng thái '{status}' không thể rút; chỉ rút được trước khi cơ quan tiếp nhận",
    )


def not_supplementable(status: str) -> Conflict:
    return catalogue.error(
        "not_awaiting_supplement", {"status": status}, f"Hồ sơ ở trạng thái '{status}' không chờ bổ sung"
    )


def result_not_available(status: str) -> Conflict:
    return catalogue.error("result_not_available", {"status": status})
