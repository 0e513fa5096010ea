"""Quarterly and yearly reports (R26) as CSV, XLSX and a printable HTML page with a chart."""
from __future__ import annotations

import base64
import csv
import html
import io

COLUMNS = [
    ("name", "Thủ tục / Cơ quan"), ("received", "Tiếp nhận"), ("received_online", "Trực tuyến"),
    ("received_postal", "Qua bưu chính"), ("received_ministry_system", "Từ hệ thống bộ, ngành"),
    ("processed_early", "Trước hạn"), ("processed_on_time", "Đúng hạn"),
    ("processed_late", "Quá hạn"), ("returned_for_supplement", "Yêu cầu bổ sung"), ("refused", "Từ chối"),
    ("withdrawn", "Rút hồ sơ"), ("payments_vnd", "Phí đã thu (VND)"), ("refunds_vnd", "Đã hoàn (VND)"),
    ("feedback_received", "Phản ánh"), ("rating_average", "Hài lòng (1–5)"),
]


def to_csv(report: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in COLUMNS])
    for row in report["rows"] + [report["total"]]:
        writer.writerow([row.get(k, "") for k, _ in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens Vietnamese correctly


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = report["period"]
    ws.append([report["title"]])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append([label for _, label in COLUMNS])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in report["rows"]:
        ws.append([row.get(k, "") for k, _ in COLUMNS])
    ws.append([report["total"].get(k, "") for k, _ in COLUMNS])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 60
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
    for key_, label, color in (("processed_early", "Trước hạn", "#2e7d32"), ("processed_on_time", "Đúng hạn",
                                                                             "#1565c0"),
                               ("processed_late", "Quá hạn", "#c62828")):
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


def to_html(report: dict) -> bytes:
    png = base64.b64encode(chart_png(report)).decode()
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(k, '')))}</td>" for k, _ in COLUMNS) + "</tr>"
                   for r in report["rows"])
    total = "".join(f"<th>{html.escape(str(report['total'].get(k, '')))}</th>" for k, _ in COLUMNS)
    page = f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(report['title'])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #999;padding:4px 6px;text-align:right}}td:first-child,th:first-child{{text-align:left}}
@media print{{img{{max-width:100%}}}}</style></head><body>
<h1>{html.escape(report['title'])}</h1>
<p>Kỳ báo cáo: {html.escape(report['period'])} · Tỷ lệ hồ sơ trực tuyến: {report['total'].get('online_share', 0)}%
 (chỉ tiêu {report.get('online_target', '')}%)</p>
<img alt="Biểu đồ kết quả giải quyết" src="data:image/png;base64,{png}">
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody><tfoot><tr>{total}</tr></tfoot></table>
</body></html>"""
    return page.encode("utf-8")
