"""PDF documents in Vietnamese (reportlab, with the DejaVu Sans font embedded): simple one-page
documents (demo form templates, payment receipts) and the filing receipt (giấy tiếp nhận hồ sơ và
hẹn trả kết quả) with a QR code that opens the public lookup.

The font is the DejaVu Sans that matplotlib ships (a pinned dependency of the reports), so every
place the services run has it without a system font package; it covers Vietnamese."""

from __future__ import annotations

import importlib.util
import io
import unicodedata
from functools import lru_cache
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    spec = importlib.util.find_spec("matplotlib")
    folder = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(REGULAR, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    return REGULAR, BOLD


def _nfc(text: str) -> str:
    # Precomposed letters: the font has a glyph for each Vietnamese letter, not for every mark stack.
    return unicodedata.normalize("NFC", str(text))


class _Page:
    """A canvas that writes wrapped lines top-down."""

    def __init__(self, title: str):
        self.regular, self.bold = _fonts()
        self.buffer = io.BytesIO()
        self.c = canvas.Canvas(self.buffer, pagesize=A4, invariant=1)
        self.c.setTitle(_nfc(title))
        self.width, self.height = A4
        self.left, self.right = 20 * mm, self.width - 20 * mm
        self.y = self.height - 20 * mm

    def text(self, line: str, size: float = 11, bold: bool = False, center: bool = False, indent: float = 0) -> None:
        font = self.bold if bold else self.regular
        for part in self._wrap(_nfc(line), font, size, self.right - self.left - indent):
            if self.y < 20 * mm:
                self.c.showPage()
                self.y = self.height - 20 * mm
            self.c.setFont(font, size)
            if center:
                self.c.drawCentredString(self.width / 2, self.y, part)
            else:
                self.c.drawString(self.left + indent, self.y, part)
            self.y -= size * 1.45

    def gap(self, points: float = 6) -> None:
        self.y -= points

    @staticmethod
    def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
        lines, current = [], ""
        for word in text.split(" "):
            trial = f"{current} {word}".strip()
            if current and pdfmetrics.stringWidth(trial, font, size) > width:
                lines.append(current)
                current = word
            else:
                current = trial
        return [*lines, current]

    def qr(self, value: str, size: float, x: float, y: float) -> None:
        widget = QrCodeWidget(value, barLevel="M")
        x0, y0, x1, y1 = widget.getBounds()
        drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, self.c, x, y)

    def bytes(self) -> bytes:
        self.c.showPage()
        self.c.save()
        return self.buffer.getvalue()


def document(lines: list[str], title: str | None = None) -> bytes:
    """A simple document: the first line as its heading, then the others."""
    page = _Page(title or lines[0])
    for n, line in enumerate(lines):
        page.text(line, size=14 if n == 0 else 11, bold=n == 0)
        if n == 0:
            page.gap(8)
    return page.bytes()


def filing_receipt(r: dict, lookup_url: str) -> bytes:
    """Giấy tiếp nhận hồ sơ và hẹn trả kết quả: ``r`` is intake's ``filing_receipt`` (already in
    words a person reads); the QR code holds ``lookup_url`` (the public lookup with code and secret)."""
    page = _Page(f"Giấy tiếp nhận hồ sơ {r['code']}")
    page.text(r["agency_name"].upper(), size=10, bold=True)
    page.text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=10, bold=True, center=True)
    page.text("Độc lập - Tự do - Hạnh phúc", size=10, center=True)
    page.gap(10)
    page.text("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", size=15, bold=True, center=True)
    page.text(f"Mã hồ sơ: {r['code']}", size=12, bold=True, center=True)
    page.gap(8)
    for label, value in r["rows"]:
        page.text(f"{label}: {value}", indent=0)
    page.gap(4)
    page.text("Thành phần hồ sơ đã nhận:", bold=True)
    for n, doc in enumerate(r["documents"], 1):
        page.text(f"{n}. {doc}", indent=6 * mm)
    page.gap(6)
    page.text(f"Mã bí mật tra cứu: {r['tracking_secret']}", size=12, bold=True)
    page.text(
        "Tra cứu tình trạng hồ sơ trên Cổng dịch vụ công (mục Tra cứu hồ sơ) bằng mã hồ sơ và mã bí mật, "
        "hoặc quét mã QR.",
        size=10,
    )
    size = 36 * mm
    page.qr(lookup_url, size, page.left, page.y - size)
    page.y -= size + 6
    for line in r.get("notes", []):
        page.text(line, size=9)
    return page.bytes()
