"""Errors raised by intake whose message names what went wrong (their codes are in the catalogue)."""

from services.common import error_catalogue as catalogue
from services.common.errors import PortalError


def procedure_not_found(code: str) -> PortalError:
    return catalogue.error("procedure_not_found", {"procedure_code": code}, f"Không tìm thấy thủ tục {code}")


def dossier_not_found(code: str) -> PortalError:
    # Same answer whether the dossier does not exist or belongs to someone else.
    return catalogue.error("dossier_not_found", {"dossier_code": code}, f"Không tìm thấy hồ sơ {code}")


def not_online(procedure: dict, agency: dict | None) -> PortalError:
    where = f"{agency['name']}, {agency['address']}" if agency else procedure["agency_id"]
    return catalogue.error(
        "procedure_not_online",
        {"level": procedure["level"], "agency_id": procedure["agency_id"], "how": ["in_person", "post"]},
        f"Thủ tục '{procedure['name']}' là dịch vụ công mức độ {procedure['level']}: chưa nộp trực tuyến được. "
        f"Vui lòng nộp hồ sơ trực tiếp hoặc qua dịch vụ bưu chính công ích tại {where}.",
    )


def invalid_form(errors: list[dict]) -> PortalError:
    return catalogue.error("invalid_form_data", errors)


def missing_documents(names: list[dict]) -> PortalError:
    listed = "; ".join(d["name"] for d in names)
    return catalogue.error("missing_documents", names, f"Thiếu thành phần hồ sơ bắt buộc: {listed}")


def unknown_documents(codes: list[str]) -> PortalError:
    return catalogue.error(
        "unknown_documents",
        {"document_codes": codes},
        f"Giấy tờ không có trong danh mục thành phần hồ sơ của thủ tục: {', '.join(codes)}",
    )


IDENTIFIERS_VI = {"email": "thư điện tử", "national_id": "số định danh cá nhân", "tax_code": "mã số thuế"}


def duplicate_account(fields: list[str]) -> PortalError:
    named = ", ".join(IDENTIFIERS_VI.get(f, f) for f in fields)
    return catalogue.error("account_exists", {"fields": fields}, f"Đã có tài khoản đăng ký với {named} này")


def not_agency_admin(agency_id: str) -> PortalError:
    return catalogue.error(
        "not_agency_admin",
        {"agency_id": agency_id},
        "Chỉ quản trị của cơ quan thực hiện thủ tục mới được cập nhật thủ tục này",
    )


def online_return_needs_signature(procedure: dict) -> PortalError:
    return catalogue.error(
        "online_return_needs_signature",
        {"field": "delivery_method", "allowed": [m for m in procedure["delivery_methods"] if m != "online"]},
    )
