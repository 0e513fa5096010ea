"""Quarterly and yearly reports (R26) as CSV, XLSX and a printable HTML page with a chart.

CSV and XLSX keep numbers as numbers (a spreadsheet adds them up; the XLSX shows money as
135.000 đ through its number format); the HTML page is read as it is: money as 135.000 đ, dates
as dd/mm/yyyy."""

from __future__ import annotations

import base64
import csv
import html
import io
from datetime import datetime

from services.common.calendar import VN_TZ

COLUMNS = [
    ("name", "Thủ tục / Cơ quan"),
    ("received", "Tiếp nhận"),
    ("received_online", "Trực tuyến"),
    ("received_postal", "Qua bưu chính"),
    ("received_in_person", "Trực tiếp"),
    ("received_ministry_system", "Từ hệ thống bộ, ngành"),
    ("reception_late", "Tiếp nhận trễ"),
    ("processed_early", "Trước hạn"),
    ("processed_on_time", "Đúng hạn"),
    ("processed_late", "Quá hạn"),
    ("stages_completed", "Bước xử lý đã xong"),
    ("stages_late", "Bước xử lý trễ hạn"),
    ("returned_for_supplement", "Yêu cầu bổ sung"),
    ("refused", "Từ chối"),
    ("withdrawn", "Rút hồ sơ"),
    ("payments_vnd", "Phí đã thu (đ)"),
    ("refunds_vnd", "Đã hoàn (đ)"),
    ("feedback_received", "Phản ánh"),
    ("rating_average", "Hài lòng (1–5)"),
]
MONEY = {"payments_vnd", "refunds_vnd"}
DEPARTMENTS_TITLE = "Bước xử lý trễ hạn theo phòng, ban"
DEPARTMENT_COLUMNS = [
    ("name", "Phòng, ban"),
    ("stages_completed", "Bước xử lý đã xong"),
    ("stages_late", "Bước xử lý trễ hạn"),
]


def money(amount: float | int | None) -> str:
    """135000 → "135.000 đ"."""
    return f"{int(amount or 0):,} đ".replace(",", ".")


def local_date(iso: str) -> str:
    """An instant as a date in Vietnam, dd/mm/yyyy."""
    return datetime.fromisoformat(iso).astimezone(VN_TZ).strftime("%d/%m/%Y")


def _rows(report: dict) -> list[dict]:
    return report["rows"] + [report["total"]]


def to_csv(report: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in COLUMNS])
    for row in _rows(report):
        writer.writerow([row.get(k, "") for k, _ in COLUMNS])
    if report.get("departments"):
        writer.writerow([DEPARTMENTS_TITLE])
        writer.writerow([label for _, label in DEPARTMENT_COLUMNS])
        for row in report["departments"]:
            writer.writerow([row.get(k, "") for k, _ in DEPARTMENT_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens Vietnamese correctly


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = report["period"]
    ws.append([report["title"]])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"Lập ngày {local_date(report['generated_at'])}"])
    ws.append([label for _, label in COLUMNS])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in _rows(report):
        ws.append([row.get(k, "") for k, _ in COLUMNS])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for index, (key_, _) in enumerate(COLUMNS, start=1):
        if key_ in MONEY:
            for (cell,) in ws.iter_rows(min_row=4, min_col=index, max_col=index):
                cell.number_format = '#,##0 "đ"'
    ws.column_dimensions["A"].width = 60
    if report.get("departments"):
        sheet = wb.create_sheet("Phòng, ban")
        sheet.append([label for _, label in DEPARTMENT_COLUMNS])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in report["departments"]:
            sheet.append([row.get(k, "") for k, _ in DEPARTMENT_COLUMNS])
        sheet.column_dimensions["A"].width = 50
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def chart_png(report: dict) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["rows"][:15]
    names = [r["name"][:28] for r in rows] or ["—"]
    fig, ax = plt.subplots(figsize=(9, 0.45 * max(4, len(names)) + 1))
    left = [0] * len(names)
    for key_, label, color in (
        ("processed_early", "Trước hạn", "#2e7d32"),
        ("processed_on_time", "Đúng hạn", "#1565c0"),
        ("processed_late", "Quá hạn", "#c62828"),
    ):
        values = [r.get(key_, 0) for r in rows] or [0]
        ax.barh(names, values, left=left, label=label, color=color)
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlabel("Số hồ sơ đã giải quyết")
    ax.set_title(report["title"], fontsize=10)
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=110)
    plt.close(fig)
    return out.getvalue()


def _cell(key_: str, value: object) -> str:
    if key_ in MONEY:
        return money(value)  # type: ignore[arg-type]
    return html.escape("" if value is None else str(value))


def _table(columns: list[tuple[str, str]], rows: list[dict], total: dict | None = None, caption: str = "") -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(k, r.get(k))}</td>" for k, _ in columns) + "</tr>" for r in rows)
    foot = (
        "<tfoot><tr>" + "".join(f"<th>{_cell(k, total.get(k))}</th>" for k, _ in columns) + "</tr></tfoot>"
        if total
        else ""
    )
    return (
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody>{foot}</table>"
    )


def to_html(report: dict) -> bytes:
    png = base64.b64encode(chart_png(report)).decode()
    departments = (
        _table(DEPARTMENT_COLUMNS, report["departments"], caption=DEPARTMENTS_TITLE)
        if report.get("departments")
        else ""
    )
    page = f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(report["title"])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px;margin-top:1em}}
td,th{{border:1px solid #999;padding:4px 6px;text-align:right}}td:first-child,th:first-child{{text-align:left}}
caption{{text-align:left;font-weight:bold;padding:4px 0}}@media print{{img{{max-width:100%}}}}</style></head><body>
<h1>{html.escape(report["title"])}</h1>
<p>Lập ngày {local_date(report["generated_at"])} · Tỷ lệ hồ sơ trực tuyến: {report["total"].get("online_share", 0)}%
 (chỉ tiêu {report.get("online_target", 0):g}%) · Tiếp nhận trễ: {report["total"].get("reception_late", 0)} hồ sơ</p>
<img alt="Biểu đồ kết quả giải quyết" src="data:image/png;base64,{png}">
{_table(COLUMNS, report["rows"], report["total"], "Kết quả tiếp nhận và giải quyết")}
{departments}
</body></html>"""
    return page.encode("utf-8")
