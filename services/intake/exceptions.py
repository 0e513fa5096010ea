"""Errors raised by intake, each a PortalError with its own stable code."""
from services.common.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed


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


IDENTIFIERS_VI = {"email": "thư điện tử", "national_id": "số định danh cá nhân", "tax_code": "mã số thuế"}


def duplicate_account(fields: list[str]) -> Conflict:
    named = ", ".join(IDENTIFIERS_VI.get(f, f) for f in fields)
    return Conflict(f"Đã có tài khoản đăng ký với {named} này", {"fields": fields}, "account_exists")


def bad_credentials() -> Unauthorized:
    return Unauthorized("Sai tên đăng nhập hoặc mật khẩu", None, "invalid_credentials")


def idempotency_mismatch() -> Conflict:
    return Conflict("Idempotency-Key đã được dùng cho một yêu cầu khác", None, "idempotency_key_reused")


def not_agency_admin(agency_id: str) -> Forbidden:
    return Forbidden("Chỉ quản trị của cơ quan thực hiện thủ tục mới được cập nhật thủ tục này",
                     {"agency_id": agency_id}, "not_agency_admin")


def online_return_needs_signature(procedure: dict) -> ValidationFailed:
    return ValidationFailed(
        "Hồ sơ không ký số được xử lý như dịch vụ mức độ 3 (Điều 7.2a): kết quả nhận trực tiếp hoặc qua bưu chính, "
        "phí, lệ phí nộp tại cơ quan hoặc qua bưu chính. Muốn nhận kết quả trực tuyến, hãy ký số hồ sơ.",
        {"field": "delivery_method", "allowed": [m for m in procedure["delivery_methods"] if m != "online"]},
        "online_return_needs_signature")
