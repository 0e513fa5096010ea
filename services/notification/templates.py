"""Vietnamese message templates, one per case action a citizen must hear about."""

from __future__ import annotations

from datetime import date, datetime

from services.common.calendar import VN_TZ


def _when(value: str | None) -> str:
    if not value:
        return "(chưa xác định)"
    return datetime.fromisoformat(value).astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")


def _day(value: str | None) -> str:
    """A due day (the period runs until 24:00 local of that day)."""
    if not value:
        return "(chưa xác định)"
    return date.fromisoformat(value[:10]).strftime("%d/%m/%Y")


def _lines(items) -> str:
    return "\n".join(f"  - {x}" for x in items)


HOW = {
    "online": "tải kết quả điện tử trên Cổng dịch vụ công (mục Hồ sơ của tôi)",
    "in_person": "nhận trực tiếp tại Bộ phận tiếp nhận và trả kết quả",
    "post": "nhận qua dịch vụ bưu chính công ích tại địa chỉ đã đăng ký",
}


def render(action: str, p: dict) -> tuple[str, str, str] | None:
    """(subject, body, short SMS text) for an action, or None when the citizen is not told."""
    if action == "incident_opened":
        return (
            f"[Sự cố] Dịch vụ {p['service']} không hoạt động",
            f"Dịch vụ {p['service']} của Cổng dịch vụ công không trả lời từ {_when(p['since'])} "
            f"({p.get('detail') or 'không rõ nguyên nhân'}).\nXem /health và /metrics; hướng dẫn xử lý "
            "trong deploy/README.md.",
            f"Su co: dich vu {p['service']} khong hoat dong tu {_when(p['since'])}.",
        )
    if action == "incident_resolved":
        return (
            f"[Đã khắc phục] Dịch vụ {p['service']} hoạt động trở lại",
            f"Dịch vụ {p['service']} hoạt động trở lại lúc {_when(p['resolved_at'])} "
            f"(không hoạt động từ {_when(p['since'])}).",
            f"Dich vu {p['service']} da hoat dong tro lai.",
        )
    if action == "feedback_answered":
        return (
            f"Trả lời phản ánh, kiến nghị: {p['subject']}",
            f"Kính gửi {p.get('name') or 'Ông/Bà'},\n\n{p['answer']}\n\n(Mã phản ánh: {p['id']})",
            f"Co quan da tra loi phan anh {p['id']}. Xem tren Cong DVC hoac email.",
        )
    if action == "filed":
        fee = f"{p['fee_vnd']:,} đ".replace(",", ".") if p.get("fee_vnd") else None
        return (
            f"Đã nộp hồ sơ {p['code']}",
            f"Hồ sơ {p['code']} — {p['procedure_name']}\n\n"
            f"Cổng dịch vụ công đã nhận hồ sơ của Ông/Bà lúc {_when(p['submitted_at'])}.\n"
            f"Mã hồ sơ: {p['code']}\nMã bí mật tra cứu: {p['tracking_secret']}\n"
            "Dùng mã hồ sơ và mã bí mật để tra cứu tình trạng hồ sơ tại mục Tra cứu hồ sơ; "
            "xin giữ kín mã bí mật.\n"
            f"Ngày hẹn trả kết quả nếu hồ sơ được tiếp nhận trong ngày làm việc nộp hồ sơ: "
            f"{_day(p['due_date_if_received'])}.\n"
            f"Hình thức nhận kết quả: {p['delivery']}."
            + (f"\nPhí, lệ phí: {fee}." if fee else "")
            + f"\n\nCơ quan giải quyết: {p['agency_name']}.",
            f"Da nop ho so {p['code']}. Ma bi mat tra cuu: {p['tracking_secret']}.",
        )
    code, name = p["code"], p.get("procedure_name", "")
    head = f"Hồ sơ {code} — {name}\n\n"
    if action == "receive":
        return (
            f"Hồ sơ {code} đã được tiếp nhận",
            head + f"Cơ quan đã tiếp nhận hồ sơ của Ông/Bà. Ngày hẹn trả kết quả: {_day(p.get('due_date'))}.",
            f"Ho so {code} da duoc tiep nhan. Hen tra ket qua: {_day(p.get('due_date'))}.",
        )
    if action == "request_supplement":
        missing = [
            m["description"] + (f" ({m['document_code']})" if m.get("document_code") else "")
            for m in p.get("missing", [])
        ]
        return (
            f"Hồ sơ {code} cần bổ sung",
            head
            + "Hồ sơ cần bổ sung các thành phần sau:\n"
            + _lines(missing)
            + (f"\n\nGhi chú: {p['reason']}" if p.get("reason") else "")
            + "\n\nVui lòng bổ sung trên Cổng dịch vụ công (mục Hồ sơ của tôi).",
            f"Ho so {code} can bo sung {len(missing)} thanh phan. Xem chi tiet tren Cong DVC.",
        )
    if action == "reject_at_reception":
        return (
            f"Hồ sơ {code} không được tiếp nhận",
            head + "Hồ sơ không đủ điều kiện tiếp nhận vì:\n" + _lines(p.get("reasons", [])),
            f"Ho so {code} khong duoc tiep nhan. Xem ly do tren Cong DVC.",
        )
    if action == "mark_result_ready":
        return (
            f"Hồ sơ {code} đã có kết quả",
            head + f"Hồ sơ đã có kết quả. Ông/Bà vui lòng {HOW.get(p.get('delivery_method'), HOW['in_person'])}.",
            f"Ho so {code} da co ket qua.",
        )
    if action == "return_with_reasons":
        return (
            f"Hồ sơ {code} được trả lại kèm văn bản nêu lý do",
            head
            + "Cơ quan không giải quyết hồ sơ vì:\n"
            + _lines(p.get("reasons") or [])
            + "\n\nVăn bản trả lời có chữ ký của lãnh đạo cơ quan được gửi kèm thông báo này.",
            f"Ho so {code} duoc tra lai kem ly do. Xem van ban tren Cong DVC.",
        )
    if action == "issue_apology":
        return (
            f"Thư xin lỗi về việc chậm trả kết quả hồ sơ {code}",
            head + f"{p.get('letter', '')}\n\nNgày hẹn trả kết quả mới: {_day(p.get('new_due_date'))}.",
            f"Ho so {code} tre han. Ngay hen moi: {_day(p.get('new_due_date'))}.",
        )
    if action == "withdraw":
        return (
            f"Đã rút hồ sơ {code}",
            head + "Hồ sơ đã được rút theo yêu cầu của Ông/Bà.",
            f"Ho so {code} da duoc rut.",
        )
    return None
