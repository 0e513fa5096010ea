"""Errors raised by processing (all PortalErrors with stable codes)."""
from services.common.errors import Conflict, NotFound


def case_not_found(code: str) -> NotFound:
    return NotFound(f"Không tìm thấy hồ sơ {code}", {"dossier_code": code}, "dossier_not_found")


def case_not_ready(code: str) -> Conflict:
    return Conflict("Hồ sơ đang được chuyển đến cơ quan giải quyết, vui lòng thử lại sau giây lát",
                    {"dossier_code": code, "retry_after_seconds": 2}, "case_not_ready")


def not_withdrawable(status: str) -> Conflict:
    return Conflict(f"Hồ sơ ở trạng thái '{status}' không thể rút; chỉ rút được trước khi cơ quan tiếp nhận",
                    {"status": status}, "withdraw_not_allowed")


def not_supplementable(status: str) -> Conflict:
    return Conflict(f"Hồ sơ ở trạng thái '{status}' không chờ bổ sung", {"status": status}, "not_awaiting_supplement")


def result_not_available(status: str) -> Conflict:
    return Conflict("Kết quả chưa sẵn sàng hoặc không trả trực tuyến", {"status": status}, "result_not_available")
