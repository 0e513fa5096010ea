"""The one catalogue of error codes: for each stable English code, its HTTP status and what a
person reads (Vietnamese). Also the Vietnamese messages of field-level checks: pydantic error
types (payloads) and JSON Schema keywords (eForms).

Every error is raised through :func:`error` (``raise catalogue.error("dossier_not_found",
{"dossier_code": code})``): the code gives the status and the message. A raise site passes its own
message only when it says more than the catalogue's (a procedure's name, the documents missing, who
may act). tests/unit/test_error_catalogue.py fails on a code raised anywhere that is not here, and on
an error class constructed by hand; ``python -m services.common.error_catalogue`` prints
docs/ERRORS.md, every code with its status, message and where it is raised.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

from .config import ROOT
from .errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PortalError,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)

_BY_STATUS = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: RateLimited,
    503: ServiceUnavailable,
}

ERRORS: dict[str, tuple[int, str]] = {
    # ------------------------------------------------------------ HTTP and the gateway
    "bad_request": (400, "Yêu cầu không hợp lệ."),
    "malformed_json": (400, "Nội dung gửi lên không phải JSON hợp lệ."),
    "missing_dossier_part": (400, "Thiếu phần thông tin hồ sơ (dossier) trong yêu cầu."),
    "invalid_idempotency_key": (400, "Khoá chống gửi trùng (Idempotency-Key) phải dài 1–200 ký tự."),
    "unauthorized": (401, "Vui lòng đăng nhập để tiếp tục."),
    "auth_required": (401, "Vui lòng đăng nhập để tiếp tục."),
    "invalid_token": (401, "Phiên đăng nhập không hợp lệ. Vui lòng đăng nhập lại."),
    "token_expired": (401, "Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại."),
    "token_revoked": (401, "Phiên đăng nhập đã kết thúc. Vui lòng đăng nhập lại."),
    "invalid_credentials": (401, "Tên đăng nhập hoặc mật khẩu không đúng."),
    "account_disabled": (401, "Tài khoản đã bị khoá. Vui lòng liên hệ cơ quan quản lý."),
    "invalid_postal_key": (401, "Khoá truy cập của doanh nghiệp bưu chính không hợp lệ."),
    "invalid_postal_signature": (401, "Chữ ký yêu cầu của doanh nghiệp bưu chính không hợp lệ."),
    "stale_postal_request": (
        401,
        "Yêu cầu của doanh nghiệp bưu chính đã quá thời gian cho phép hoặc thiếu thời điểm ký.",
    ),
    "replayed_postal_request": (401, "Yêu cầu của doanh nghiệp bưu chính đã được gửi trước đó."),
    "invalid_callback": (401, "Kết quả thanh toán gửi về không hợp lệ."),
    "forbidden": (403, "Ông/Bà không có quyền thực hiện thao tác này."),
    "forbidden_role": (403, "Tài khoản của Ông/Bà không có quyền xem trang này hoặc thực hiện thao tác này."),
    "csrf_failed": (403, "Phiên biểu mẫu không hợp lệ hoặc đã hết hạn. Vui lòng tải lại trang và thử lại."),
    "not_found": (404, "Không tìm thấy trang hoặc thông tin Ông/Bà yêu cầu."),
    "method_not_allowed": (405, "Trang này không nhận cách gửi yêu cầu đó."),
    "conflict": (409, "Thông tin vừa được thay đổi. Vui lòng tải lại trang và thử lại."),
    "payload_too_large": (413, "Dữ liệu gửi lên vượt quá dung lượng cho phép."),
    "request_too_large": (413, "Dữ liệu gửi lên vượt quá dung lượng cho phép."),
    "unsupported_media_type": (415, "Định dạng dữ liệu gửi lên không được hỗ trợ."),
    "validation_failed": (422, "Thông tin chưa hợp lệ. Vui lòng kiểm tra các mục được đánh dấu."),
    "rate_limited": (429, "Ông/Bà thao tác quá nhiều lần. Vui lòng thử lại sau ít phút."),
    "too_many_login_attempts": (429, "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút."),
    "http_error": (400, "Không thực hiện được yêu cầu."),
    "internal_error": (500, "Lỗi hệ thống. Vui lòng thử lại sau."),
    "service_unavailable": (503, "Dịch vụ tạm thời không phản hồi. Vui lòng thử lại sau."),
    "service_busy": (
        503,
        "Hệ thống đang tiếp nhận nhiều hồ sơ cùng lúc. Vui lòng gửi lại sau ít giây; gửi lại "
        "cùng hồ sơ không tạo hồ sơ trùng.",
    ),
    "invalid_action": (422, "Thao tác không hợp lệ."),
    "invalid_page": (422, "Số trang không hợp lệ."),
    "rebuild_pending": (503, "Việc dựng lại số liệu chưa xong; vui lòng xem lại sau."),
    # --------------------------------------------------------------- accounts
    "account_exists": (409, "Đã có tài khoản với thông tin này."),
    "account_not_found": (404, "Không tìm thấy tài khoản."),
    "official_not_found": (404, "Không tìm thấy cán bộ."),
    "not_agency_admin": (403, "Chỉ quản trị của cơ quan thực hiện thủ tục mới được làm việc này."),
    "department_exists": (409, "Phòng ban đã tồn tại."),
    "unknown_department": (422, "Phòng ban không thuộc cơ quan."),
    "agency_not_found": (404, "Không tìm thấy cơ quan."),
    "unknown_agency": (422, "Không tìm thấy cơ quan được nêu."),
    # ---------------------------------------------------------------- catalog
    "procedure_not_found": (404, "Không tìm thấy thủ tục."),
    "form_not_found": (404, "Biểu mẫu này chưa được cơ quan đăng tải."),
    "new_procedure_province_only": (403, "Thủ tục mới do Văn phòng UBND tỉnh công bố."),
    "owner_change_province_only": (403, "Chuyển thủ tục sang cơ quan khác do Văn phòng UBND tỉnh quyết định."),
    "announcement_province_only": (403, "Quyết định công bố thủ tục do Văn phòng UBND tỉnh cập nhật."),
    "processing_time_exceeds_announced": (
        422,
        "Thời hạn giải quyết vượt thời hạn đã công bố; cơ quan chỉ được rút ngắn.",
    ),
    "invalid_eform_schema": (422, "Mẫu tờ khai điện tử (eForm) không hợp lệ."),
    "code_mismatch": (422, "Mã thủ tục trong đường dẫn và trong nội dung khác nhau."),
    "timezone_required": (422, "Thời điểm cần có múi giờ."),
    "workflow_unknown_stage_kind": (422, "Quy trình có loại bước không hợp lệ."),
    "workflow_unknown_role": (422, "Quy trình giao bước cho vai trò không hợp lệ."),
    "workflow_duplicate_role": (422, "Một bước của quy trình ghi một vai trò hai lần."),
    "workflow_duplicate_stage": (422, "Quy trình có bước bị trùng."),
    "workflow_missing_stage": (422, "Quy trình thiếu bước bắt buộc."),
    "workflow_no_final_stage": (422, "Bước cuối cùng của quy trình phải là trả kết quả."),
    "workflow_stage_order": (
        422,
        "Các bước phải theo thứ tự: tiếp nhận → (phân công) → thẩm định → phê duyệt → trả kết quả.",
    ),
    "workflow_budget_exceeds_processing_time": (422, "Tổng thời gian các bước vượt thời hạn giải quyết."),
    "workflow_cohandling_review_only": (422, "Chỉ bước thẩm định mới có tuỳ chọn phối hợp."),
    # ----------------------------------------------------------------- filing
    "citizens_only": (403, "Chỉ công dân, tổ chức mới nộp hồ sơ trực tuyến."),
    "reception_only": (403, "Chỉ bộ phận một cửa mới tiếp nhận hồ sơ trực tiếp."),
    "ministry_systems_only": (403, "Chức năng này chỉ dành cho hệ thống của bộ, ngành."),
    "other_agency": (403, "Hồ sơ, thủ tục thuộc cơ quan khác."),
    "invalid_channel": (422, "Kênh nộp hồ sơ không hợp lệ."),
    "procedure_not_online": (422, "Thủ tục này chưa nộp trực tuyến được; vui lòng nộp trực tiếp hoặc qua bưu chính."),
    "delivery_method_not_allowed": (422, "Hình thức nhận kết quả không áp dụng cho thủ tục này."),
    "online_return_needs_signature": (
        422,
        "Hồ sơ không ký số được xử lý như dịch vụ mức độ 3 (Điều 7.2a): kết quả "
        "nhận trực tiếp hoặc qua bưu chính, phí, lệ phí nộp tại cơ quan hoặc qua "
        "bưu chính. Muốn nhận kết quả trực tuyến, hãy ký số hồ sơ.",
    ),
    "invalid_form_data": (422, "Tờ khai điện tử chưa hợp lệ."),
    "invalid_form_changes": (422, "Nội dung sửa đổi tờ khai phải là các cặp trường – giá trị."),
    "unknown_form_fields": (422, "Có trường không thuộc tờ khai."),
    "missing_documents": (422, "Thiếu thành phần hồ sơ bắt buộc."),
    "unknown_documents": (422, "Có giấy tờ không thuộc thành phần hồ sơ của thủ tục."),
    "invalid_attachments": (422, "Danh sách tệp đính kèm không hợp lệ."),
    "too_many_attachments": (422, "Quá số tệp đính kèm cho phép."),
    "attachment_encoding": (422, "Nội dung tệp đính kèm không đọc được."),
    "attachment_empty": (422, "Tệp đính kèm rỗng."),
    "attachment_too_large": (413, "Tệp đính kèm vượt quá dung lượng cho phép."),
    "attachment_type_not_allowed": (415, "Tệp đính kèm phải là PDF, JPEG hoặc PNG."),
    "attachment_integrity": (409, "Tệp không khớp mã băm đã ghi nhận khi nộp."),
    "attachment_not_found": (404, "Không tìm thấy tệp đính kèm."),
    "idempotency_key_reused": (409, "Khoá chống gửi trùng đã được dùng cho một yêu cầu khác."),
    "in_progress": (409, "Yêu cầu trước đó đang được xử lý. Vui lòng thử lại."),
    "signature_not_applicable": (422, "Chữ ký số chỉ áp dụng cho dịch vụ công mức độ 4."),
    "invalid_signature": (422, "Chữ ký số không hợp lệ."),
    "invalid_certificate": (422, "Chứng thư số không đọc được."),
    "certificate_expired": (422, "Chứng thư số đã hết hạn hoặc không còn hiệu lực."),
    "untrusted_certificate": (422, "Chứng thư số không do tổ chức chứng thực tin cậy cấp."),
    "certificate_usage": (422, "Chứng thư số không được phép dùng để ký."),
    "no_trusted_ca": (422, "Cổng chưa cấu hình tổ chức chứng thực tin cậy."),
    "certificate_subject_mismatch": (422, "Chứng thư số không phải của chủ tài khoản."),
    "unsupported_key": (422, "Loại khoá của chữ ký số không được hỗ trợ."),
    "dossier_not_found": (404, "Không tìm thấy hồ sơ."),
    "empty_supplement": (422, "Chưa có tệp bổ sung hoặc nội dung sửa đổi nào."),
    # ------------------------------------------------------------- processing
    "case_not_ready": (409, "Hồ sơ đang được chuyển đến cơ quan giải quyết. Vui lòng thử lại sau ít giây."),
    "stale_version": (409, "Hồ sơ vừa được người khác cập nhật. Vui lòng tải lại trang và thử lại."),
    "invalid_transition": (409, "Thao tác này không thực hiện được ở tình trạng hiện tại của hồ sơ."),
    "apology_required": (409, "Hồ sơ đã quá hạn: cần gửi thư xin lỗi và hẹn lại trước."),
    "fee_unpaid": (409, "Hồ sơ chưa nộp phí, lệ phí trực tuyến."),
    "fee_not_due": (409, "Phí, lệ phí không chờ thanh toán."),
    "flags_unchanged": (409, "Không có thay đổi về hạn xử lý."),
    "not_overdue": (409, "Hồ sơ chưa quá hạn: chưa cần văn bản xin lỗi."),
    "request_closed": (409, "Yêu cầu phối hợp đã được trả lời."),
    "result_not_available": (409, "Kết quả chưa sẵn sàng để nhận trực tuyến."),
    "withdraw_not_allowed": (409, "Không rút được hồ sơ sau khi cơ quan đã tiếp nhận."),
    "not_awaiting_supplement": (409, "Hồ sơ không ở tình trạng chờ bổ sung."),
    "cohandling_not_in_workflow": (409, "Quy trình của thủ tục không có bước xin ý kiến phối hợp."),
    "cohandling_pending": (409, "Còn yêu cầu phối hợp chưa được trả lời."),
    "cohandling_beyond_deadline": (422, "Hạn trả lời phối hợp không được sau hạn giải quyết hồ sơ."),
    "cohandling_target": (422, "Cần chọn một phòng ban hoặc một cơ quan để xin ý kiến phối hợp."),
    "department_assigned_later": (422, "Phòng chuyên môn được chọn ở bước phân công."),
    "department_required": (422, "Quy trình của thủ tục không có bước phân công: chọn phòng chuyên môn khi tiếp nhận."),
    "new_due_date_in_past": (422, "Ngày hẹn mới phải sau hôm nay."),
    "new_due_date_not_working_day": (422, "Ngày hẹn mới phải là ngày làm việc."),
    "unknown_request": (422, "Không tìm thấy yêu cầu phối hợp."),
    "not_applicant": (403, "Chỉ người nộp hồ sơ mới làm được việc này."),
    "not_cohandler": (403, "Chỉ đơn vị được xin ý kiến mới trả lời được."),
    "other_department": (403, "Hồ sơ đang do phòng chuyên môn khác xử lý."),
    "system_only": (403, "Bước này do hệ thống thực hiện."),
    "officials_only": (403, "Chỉ cán bộ mới xem được trang này."),
    "file_not_found": (404, "Không tìm thấy văn bản."),
    "procedure_out_of_scope": (403, "Thủ tục nằm ngoài phạm vi được cấp cho hệ thống."),
    # ----------------------------------------------------------------- others
    "message_not_found": (404, "Không tìm thấy thông báo."),
    "feedback_not_found": (404, "Không tìm thấy phản ánh, kiến nghị."),
    "already_answered": (409, "Phản ánh đã được trả lời."),
    "already_rated": (409, "Ông/Bà đã đánh giá hồ sơ này. Cảm ơn Ông/Bà."),
    "not_delivered": (409, "Chỉ đánh giá được sau khi đã nhận kết quả."),
    "contact_required": (422, "Cần họ tên và thư điện tử hoặc số điện thoại để cơ quan trả lời."),
    "unknown_dossier": (422, "Không tìm thấy hồ sơ được nêu."),
    "unknown_procedure": (422, "Không tìm thấy thủ tục được nêu."),
    "invalid_period": (422, "Kỳ báo cáo không hợp lệ."),
    "invalid_dimension": (422, "Chiều thống kê không hợp lệ."),
    "invalid_format": (422, "Định dạng báo cáo không hợp lệ."),
    "payment_not_found": (404, "Không tìm thấy giao dịch thanh toán."),
    "no_fee_due": (404, "Hồ sơ không có phí, lệ phí phải nộp trực tuyến."),
    "already_paid": (409, "Phí, lệ phí đã được nộp."),
    "not_paid": (409, "Giao dịch chưa được thanh toán."),
    "no_receipt": (409, "Chỉ có biên lai cho giao dịch đã thanh toán."),
    "over_refund": (422, "Số tiền hoàn vượt số tiền đã nộp."),
    "no_refund_result_produced": (
        409,
        "Cơ quan đã có kết quả; người nộp không nhận kết quả thì không được hoàn phí (Điều 7.3).",
    ),
    "provider_error": (503, "Cổng thanh toán báo lỗi. Vui lòng thử lại sau."),
    "provider_unavailable": (503, "Cổng thanh toán tạm thời không phản hồi. Vui lòng thử lại sau."),
    "shipment_not_found": (404, "Không tìm thấy bưu gửi."),
    "impossible_transition": (409, "Trạng thái bưu gửi không chuyển được như vậy."),
    "invalid_window": (422, "Khung giờ thu gom không hợp lệ."),
    "proof_required": (422, "Cần bằng chứng giao nhận (người nhận)."),
    "not_a_pickup": (409, "Bưu gửi này không phải yêu cầu thu gom hồ sơ."),
    "issue_reused": (409, "Số hồ sơ của hệ thống bộ, ngành đã được dùng cho yêu cầu khác."),
    "read_not_allowed": (403, "Hệ thống không được cấp quyền đọc."),
    "write_not_allowed": (403, "Hệ thống không được cấp quyền nộp hồ sơ."),
}


def status_of(code: str, default: int = 500) -> int:
    return ERRORS.get(code, (default, ""))[0]


def message_of(code: str) -> str:
    return ERRORS.get(code, ERRORS["internal_error"])[1]


def error(code: str, details: Any = None, message: str | None = None) -> PortalError:
    """The PortalError of a catalogued code, with the catalogue's message unless one is given."""
    status = status_of(code)
    cls = _BY_STATUS.get(status)
    err = (
        cls(message or message_of(code), details, code)
        if cls
        else PortalError(message or message_of(code), details, code)
    )
    err.status = status
    return err


# ---------------------------------------------------------------- field-level messages
PYDANTIC: dict[str, str] = {
    "missing": "Bắt buộc phải nhập.",
    "extra_forbidden": "Trường này không thuộc biểu mẫu.",
    "string_type": "Phải là chữ.",
    "string_too_short": "Cần ít nhất {min_length} ký tự.",
    "string_too_long": "Tối đa {max_length} ký tự.",
    "string_pattern_mismatch": "Sai định dạng.",
    "int_type": "Phải là số nguyên.",
    "int_parsing": "Phải là số nguyên.",
    "int_from_float": "Phải là số nguyên.",
    "float_type": "Phải là số.",
    "float_parsing": "Phải là số.",
    "bool_type": "Phải là có hoặc không.",
    "bool_parsing": "Phải là có hoặc không.",
    "greater_than": "Phải lớn hơn {gt}.",
    "greater_than_equal": "Phải từ {ge} trở lên.",
    "less_than": "Phải nhỏ hơn {lt}.",
    "less_than_equal": "Không được lớn hơn {le}.",
    "literal_error": "Phải chọn một giá trị trong danh sách.",
    "enum": "Phải chọn một giá trị trong danh sách.",
    "date_type": "Phải là ngày (ngày/tháng/năm).",
    "date_parsing": "Không phải ngày hợp lệ (ngày/tháng/năm).",
    "date_from_datetime_parsing": "Không phải ngày hợp lệ (ngày/tháng/năm).",
    "date_from_datetime_inexact": "Không phải ngày hợp lệ (ngày/tháng/năm).",
    "date_past": "Phải là một ngày trong quá khứ.",
    "date_future": "Phải là một ngày trong tương lai.",
    "datetime_type": "Phải là ngày giờ.",
    "datetime_parsing": "Không phải ngày giờ hợp lệ.",
    "datetime_from_date_parsing": "Không phải ngày giờ hợp lệ.",
    "timezone_aware": "Thời điểm cần có múi giờ.",
    "too_short": "Cần ít nhất {min_length} mục.",
    "too_long": "Tối đa {max_length} mục.",
    "list_type": "Phải là một danh sách.",
    "dict_type": "Phải là một nhóm thông tin.",
    "model_type": "Phải là một nhóm thông tin.",
    "model_attributes_type": "Phải là một nhóm thông tin.",
    "json_invalid": "Không phải JSON hợp lệ.",
    "union_tag_invalid": "Giá trị không nằm trong danh sách cho phép.",
    "union_tag_not_found": "Thiếu loại thao tác.",
    "url_parsing": "Không phải địa chỉ web hợp lệ.",
    "uuid_parsing": "Mã định danh không hợp lệ.",
}
INVALID = "Giá trị không hợp lệ."
EMAIL_INVALID = "Địa chỉ thư điện tử không hợp lệ."
PHONE_FORMAT = "Số điện thoại Việt Nam: 0xxxxxxxxx hoặc +84xxxxxxxxx."
#: what a person is told when a value does not have the shape a pattern asks (by the pattern)
PATTERNS: dict[str, str] = {
    r"^(\+84|0)( ?\d){9,10}$": PHONE_FORMAT,
    r"^(\+84|0)\d{9,10}$": PHONE_FORMAT,
    r"^\d{12}$": "Gồm đúng 12 chữ số.",
    r"^\d{10}(-\d{3})?$": "Mã số thuế: 10 chữ số, chi nhánh thêm -3 chữ số.",
    r"^\d{2}$": "Gồm 2 chữ số.",
}


def pydantic_message(err: dict) -> str:
    """The Vietnamese message of one pydantic error (``ValidationError.errors()`` item, with ctx).
    A ``value_error`` carries the validator's own message, which this project writes in Vietnamese;
    email-validator's reasons are English, so an invalid address gets the catalogue's message."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "value_error":
        text = str(ctx.get("error") or err.get("msg") or "")
        if err.get("msg", "").startswith("value is not a valid email address"):
            return EMAIL_INVALID
        return (text.removeprefix("Value error, ").strip() or INVALID).rstrip(".") + "."
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERNS:
        return PATTERNS[ctx["pattern"]]
    template = PYDANTIC.get(kind)
    if template is None:
        return INVALID
    try:
        return template.format(**{k: v for k, v in ctx.items() if isinstance(v, (int, float, str))})
    except (KeyError, IndexError):
        return INVALID


JSONSCHEMA: dict[str, str] = {
    "required": "Bắt buộc phải nhập.",
    "pattern": "Sai định dạng.",
    "enum": "Phải chọn một giá trị trong danh sách.",
    "const": "Phải chọn một giá trị trong danh sách.",
    "oneOf": "Phải chọn một giá trị trong danh sách.",
    "anyOf": "Giá trị không hợp lệ.",
    "maxLength": "Tối đa {value} ký tự.",
    "minLength": "Chưa nhập hoặc quá ngắn.",
    "format": "Không phải ngày hợp lệ (ngày/tháng/năm).",
    "type": "Sai kiểu dữ liệu.",
    "minimum": "Phải từ {value} trở lên.",
    "maximum": "Không được lớn hơn {value}.",
    "exclusiveMinimum": "Phải lớn hơn {value}.",
    "exclusiveMaximum": "Phải nhỏ hơn {value}.",
    "minItems": "Cần chọn hoặc nhập ít nhất {value} mục.",
    "maxItems": "Tối đa {value} mục.",
    "uniqueItems": "Có mục bị trùng.",
    "additionalProperties": "Có trường không thuộc tờ khai.",
}


def jsonschema_detail(error: Any) -> dict:
    """One eForm (JSON Schema) error as {field, type, message}: the field named as in the schema
    (a missing required property names itself, not its parent) and a Vietnamese message."""
    path = [str(p) for p in error.absolute_path]
    keyword = error.validator
    if keyword == "required":
        missing = [p for p in error.validator_value if isinstance(error.instance, dict) and p not in error.instance]
        named = next((p for p in missing if f"'{p}'" in error.message), missing[0] if missing else None)
        if named:
            path.append(named)
    value = error.validator_value
    if keyword == "format" and value != "date":
        message = INVALID
    else:
        message = JSONSCHEMA.get(keyword, INVALID).format(value=value)
    return {"field": ".".join(path) or "(form)", "type": keyword, "message": message}


# ------------------------------------------------------------------ docs/ERRORS.md
#: helpers that raise the catalogued code given as their argument ``index`` (else their default)
HELPERS: dict[str, tuple[str, int, str | None]] = {
    "services/intake/signatures.py": ("_fail", 1, "invalid_signature"),
    "services/common/workflows.py": ("add", 1, None),
}


def raise_sites(root: Path = ROOT) -> dict[str, set[str]]:
    """Every constant code raised in services/, gateway/ and clients/, with the files raising it."""
    found: dict[str, set[str]] = {}
    for path in sorted([*root.glob("services/**/*.py"), *root.glob("gateway/**/*.py"), *root.glob("clients/**/*.py")]):
        where = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "error" and getattr(getattr(node.func, "value", None), "id", "") == "catalogue":
                code = node.args[0] if node.args else None
            elif where in HELPERS and name == HELPERS[where][0]:
                index, default = HELPERS[where][1:]
                code = node.args[index] if len(node.args) > index else ast.Constant(default)
            else:
                continue
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                found.setdefault(code.value, set()).add(where)
    return found


def markdown(root: Path = ROOT) -> str:
    """docs/ERRORS.md: every code with its HTTP status, message and the files that raise it."""
    sites = raise_sites(root)
    out = [
        "# Error codes",
        "",
        "Generated by `python -m services.common.error_catalogue > docs/ERRORS.md` from",
        "`services/common/error_catalogue.py`; do not edit by hand (tests/unit/test_error_catalogue.py",
        "fails when this file is not what the command prints).",
        "",
        'Every error reaches a client as `{"error": {"code", "message", "details"}}` with the',
        "HTTP status below. The message is the catalogue's unless the raise site says more (a name, a",
        'number, who may act); pages show the message, never the code. "Raised in" lists the files that',
        "raise the code by name; a code without one comes from the gateway's handling of HTTP errors, an",
        "error class's default, or a workflow check's `problem`.",
        "",
        "| code | HTTP | message | raised in |",
        "|---|---|---|---|",
    ]
    for code, (status, message) in ERRORS.items():
        where = ", ".join(f"`{w}`" for w in sorted(sites.get(code, ()))) or "—"
        out.append(f"| `{code}` | {status} | {message} | {where} |")
    out += [
        "",
        "## Field checks",
        "",
        "What a person reads next to a field that a payload check (pydantic error type) or an eForm",
        "check (JSON Schema keyword) refused.",
        "",
        "| check | message |",
        "|---|---|",
    ]
    out += [f"| pydantic `{kind}` | {text} |" for kind, text in PYDANTIC.items()]
    out += [f"| eForm `{keyword}` | {text} |" for keyword, text in JSONSCHEMA.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
