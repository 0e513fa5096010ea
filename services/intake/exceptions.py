"""Errors raised by intake, each a PortalError with its own stable code."""
from services.common.errors import Conflict, NotFound, Unauthorized, ValidationFailed


def procedure_not_found(code: str) -> NotFound:
    return NotFound(f"Không tìm thấy thủ tục {code}", {"procedure_code": code}, "procedure_not_found")


def dossier_not_found(code: str) -> NotFound:
    # Same answer whether the dossier does not exist or belongs to someone else.
    return NotFound(f"Không tìm thấy hồ sơ {code}", {"dossier_code": code}, "dossier_not_found")


def not_online(procedure: dict, agency: dict | None) -> ValidationFailed:
    where = f"{agency['name']}, {agency['address']}" if agency else procedure["agency_id"]
    return ValidationFailed(
        f"Thủ tục '{procedure['name']}' là dịch vụ công mức độ {procedure['level']}: chưa nộp trực tuyến được. "
        f"Vui lòng nộp hồ sơ trực tiếp hoặc qua dịch vụ bưu chính công ích tại {where}.",
        {"level": procedure["level"], "agency_id": procedure["agency_id"], "how": ["in_person", "post"]},
        "procedure_not_online",
    )


def invalid_form(errors: list[dict]) -> ValidationFailed:
    return ValidationFailed("Tờ khai điện tử chưa hợp lệ", errors, "invalid_form_data")


def missing_documents(names: list[dict]) -> ValidationFailed:
    listed = "; ".join(d["name"] for d in names)
    return ValidationFailed(f"Thiếu thành phần hồ sơ bắt buộc: {listed}", names, "missing_documents")


def unknown_documents(codes: list[str]) -> ValidationFailed:
    return ValidationFailed(
        f"Giấy tờ không có trong danh mục thành phần hồ sơ của thủ tục: {', '.join(codes)}",
        {"document_codes": codes}, "unknown_documents")


def duplicate_account(fields: list[str]) -> Conflict:
    return Conflict("Tài khoản đã tồn tại với thông tin: " + ", ".join(fields), {"fields": fields}, "account_exists")


def bad_credentials() -> Unauthorized:
    return Unauthorized("Sai tên đăng nhập hoặc mật khẩu", None, "invalid_credentials")


def idempotency_mismatch() -> Conflict:
    return Conflict("Idempotency-Key đã được dùng cho một yêu cầu khác", None, "idempotency_key_reused")
