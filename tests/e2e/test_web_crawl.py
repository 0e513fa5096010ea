"""Issue #13 in a real browser (headless Chromium): every page, as anonymous, a citizen (a person
and an organisation) and reception / specialist / leader / agency admin, is checked for what a
person must never see (English validation phrases, snake_case identifiers, raw JSON), for
horizontal scrolling on a 390 px phone, and with axe-core for WCAG 2.1 A/AA; every published
level-3/4 procedure is filed through its web form; search works without diacritics; the printed
receipt's QR code is read back and opens the public lookup. Screenshots land in var/artifacts/web/.
"""

import re
import subprocess
import time

import pytest
import requests

from services.common.config import ROOT
from tests.e2e.test_processing_journey import wait_for
from tests.e2e.test_web_portal import ARTIFACTS, DEMO_PASSWORD, browser, files, sign_in, sign_out  # noqa: F401
from tests.helpers import new_citizen

AXE = ROOT / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"
# What must never reach a person: pydantic's / jsonschema's / werkzeug's English, raw codes.
ENGLISH = re.compile(
    r"Field required|String should|Value error|Input should|is not one of|is a required property|"
    r"Extra inputs|not permitted|does not match|Not Found|Method Not Allowed|Internal Server Error|"
    r"Bad Request|Unauthorized|Forbidden\b"
)
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
CHECK_PAGE = """
const text = document.body.innerText;
return {text: text, overflow: document.documentElement.scrollWidth > window.innerWidth + 1,
        width: document.documentElement.scrollWidth};
"""
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
   .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))
   .catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));
"""
# Fills a filing form the way a person would, from what the form itself says (pattern, type, min).
FILL = """
const form = document.getElementById(arguments[0]);
const sample = p => p.includes('\\\\d{12}') ? '079090001234' : p.includes('\\\\d{10}') ? '0101234567'
  : p.includes('\\\\d{4}') ? '4711' : p.includes('\\\\d{2}') ? '52' : p.includes('84') ? '0912345678' : 'Thử';
const groups = new Set();
for (const el of form.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden' || el.type === 'file' || el.type === 'radio' || el.name === 'note'
      || el.name.startsWith('delivery_')) continue;
  if (el.type === 'checkbox') {
    if (el.closest('fieldset[aria-describedby], fieldset') && el.value !== 'on' && !groups.has(el.name)) {
      el.checked = true; groups.add(el.name);
    }
    continue;
  }
  if (el.tagName === 'SELECT') { el.selectedIndex = 1; continue; }
  if (el.type === 'date') { el.value = '2000-01-15'; continue; }
  if (el.type === 'number') { el.value = String(Math.max(1, Number(el.min || 1))); continue; }
  if (el.tagName === 'TEXTAREA') { el.value = sample(el.dataset.itemPattern || '') === 'Thử'
      ? 'Nội dung thử nghiệm' : sample(el.dataset.itemPattern); continue; }
  el.value = el.pattern ? sample(el.pattern) : 'Nguyễn Văn Thử';
}
return Array.from(form.querySelectorAll('input[type=file]')).map(e => e.id);
"""


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.is_file():
        pytest.skip("axe-core is not installed (make test installs it: scripts/infra tools)")
    return AXE.read_text(encoding="utf-8")


class Crawl:
    """Visits pages and collects what is wrong with each."""

    def __init__(self, b, url, axe_source):
        self.b, self.url, self.axe, self.problems, self.seen = b, url, axe_source, [], 0

    def check(self, path, who, shot=None):
        b = self.b
        b.resize(1366, 900)
        b.get(f"{self.url}{path}")
        self.inspect(path, who, shot)

    def inspect(self, path, who, shot=None):
        b = self.b
        self.seen += 1
        page = b.js(CHECK_PAGE)
        where = f"{who} {path}"
        text = page["text"]
        if ENGLISH.search(text):
            self.problems.append(f"{where}: English reaches the person: {ENGLISH.search(text).group(0)!r}")
        snake = [w for w in SNAKE.findall(text) if "@" not in w]
        if snake:
            self.problems.append(f"{where}: raw identifiers shown: {sorted(set(snake))[:5]}")
        if text.strip().startswith(("{", "[")):
            self.problems.append(f"{where}: raw JSON shown to a browser")
        b.js(self.axe + "\nreturn true;")
        for v in b.js_async(RUN_AXE):
            self.problems.append(f"{where}: axe {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}")
        b.resize(390, 844)  # the same page on a phone: nothing may scroll sideways
        time.sleep(0.15)
        page = b.js(CHECK_PAGE)
        if page["overflow"]:
            self.problems.append(f"{where}: {page['width']} px wide on a 390 px screen")
        if shot:
            b.screenshot(ARTIFACTS / f"dien-thoai-{shot}.png")
        b.resize(1366, 900)


def file_through_the_form(b, url, code, files):
    """Fill and send a procedure's web form; return the dossier code from the page it leads to."""
    b.get(f"{url}/nop-ho-so/{code}")
    for element in b.js(FILL, "nop-ho-so"):
        b.upload(f"#{element}", files / "to-khai.pdf")
    b.click("#nop-ho-so button[type=submit]")  # sent by the upload script, which then follows the redirect
    deadline = time.time() + 30
    while time.time() < deadline and "/ho-so-cua-toi/" not in b.url:
        time.sleep(0.2)
    assert "/ho-so-cua-toi/" in b.url, f"{code} was not filed: {b.text('#loi-nop', timeout=2)!r}"
    return b.text("#ma-ho-so", timeout=20)


def test_every_page_for_every_role_reads_vietnamese_fits_a_phone_and_passes_axe(suite, browser, files, axe_source):
    url, b = suite["url"], browser
    crawl = Crawl(b, url, axe_source)
    b.timeouts(60_000)
    catalog = requests.get(f"{suite['api']}/procedures", params={"page_size": 100}, timeout=10).json()["items"]
    online = [p for p in catalog if p["level"] >= 3]

    # Anonymous: the catalog, every procedure page, lookup, statistics, Q&A, directory, accounts, errors.
    for path in [
        "/",
        "/?q=khai+sinh",
        "/tra-cuu",
        "/thong-ke",
        "/hoi-dap",
        "/co-quan",
        "/dang-nhap",
        "/dang-ky",
        "/dang-ky?loai=to-chuc",
        "/trang-khong-co",
    ] + [f"/thu-tuc/{p['code']}" for p in catalog]:
        crawl.check(path, "khách", shot={"/": "trang-chu", "/trang-khong-co": "404"}.get(path))
    b.get(f"{url}/dang-ky")  # a refused registration: every message in Vietnamese, next to its field
    b.js("document.getElementById('dang-ky').noValidate = true")
    b.type("#password", "ngan")
    b.type("#email", "khong-phai-thu")
    b.go("#dang-ky button[type=submit]")
    assert b.text("#password-loi") == "Cần ít nhất 10 ký tự."
    assert b.js("return document.getElementById('phone').getAttribute('aria-invalid')") == "true"
    crawl.inspect("/dang-ky (bị từ chối)", "khách", shot="dang-ky-loi")

    # A citizen (a person) files every level-3/4 procedure through its form, then the own pages.
    person = new_citizen(full_name="Phạm Thị Duyên")
    assert requests.post(f"{suite['api']}/auth/register", json=person, timeout=20).status_code == 201
    sign_in(b, url, person["email"], person["password"])
    filed = {p["code"]: file_through_the_form(b, url, p["code"], files) for p in online}
    b.screenshot(ARTIFACTS / "10-da-nop-tat-ca.png")
    code = filed["GT-GPLX-01"]
    b.get(f"{url}/ho-so-cua-toi/{code}")  # level 4 filed without a signature: the fee at the desk, the amount
    fee = b.text("#phi-tai-quay", timeout=20)
    assert "135.000 đ" in fee and "bộ phận một cửa" in fee and "mức độ 3" in fee
    b.get(f"{url}/nop-ho-so/TP-HT-01")
    b.js("document.getElementById('nop-ho-so').noValidate = true")
    b.click("#nop-ho-so button[type=submit]")
    b.text("#loi-nop", timeout=20)
    crawl.inspect("/nop-ho-so/TP-HT-01 (bị từ chối)", "công dân", shot="nop-ho-so-loi")
    for path in [
        "/ho-so-cua-toi",
        f"/ho-so-cua-toi/{code}",
        "/thong-bao",
        "/hoi-dap",
        "/nop-ho-so/TP-LLTP-01",
        "/nop-ho-so/DD-TT-01",
        "/can-bo",
    ]:
        crawl.check(path, "công dân", shot={"/ho-so-cua-toi": "ho-so-cua-toi"}.get(path))
    sign_out(b)

    # An organisation registers on the web form (with its representative) and signs in by tax code.
    tax_code = f"{int(time.time() * 1000) % 10**10:010d}"
    b.get(f"{url}/dang-ky?loai=to-chuc")
    for css, value in {
        "#name": "Công ty TNHH Thử Nghiệm",
        "#tax_code": tax_code,
        "#representative": "Võ Văn Đại Diện",
        "#email": f"cty.{tax_code}@example.vn",
        "#phone": "0256123456",
        "#password": "mat-khau-to-chuc-2026",
    }.items():
        b.type(css, value)
    b.go("#dang-ky button[type=submit]")
    assert "Đăng ký thành công" in b.text(".notice")
    sign_in(b, url, tax_code, "mat-khau-to-chuc-2026")
    file_through_the_form(b, url, "KH-HKD-01", files)
    for path in ["/ho-so-cua-toi", "/thong-bao"]:
        crawl.check(path, "tổ chức")
    sign_out(b)

    # Officials: reception, specialist, leader (the dossiers just filed are in their queues) and an admin.
    birth = filed["TP-HT-01"]
    for who, extra in (
        ("off-gr-reception", ["/can-bo/tiep-nhan", "/can-bo/tiep-nhan/TP-CT-01", "/can-bo/bao-cao", "/ho-so-cua-toi"]),
        ("off-gr-specialist", []),
        ("off-gr-leader", []),
        ("off-gr-admin", ["/can-bo/quy-trinh", "/can-bo/quy-trinh/TP-HT-02"]),
    ):
        sign_in(b, url, f"{who}@demo.binhdinh.gov.vn", DEMO_PASSWORD)
        for path in ["/can-bo", f"/can-bo/ho-so/{birth}", *extra]:
            crawl.check(path, who, shot={"/can-bo": f"hang-doi-{who}"}.get(path))
        sign_out(b)
    b.screenshot(ARTIFACTS / "11-cuoi-cung.png")
    assert crawl.seen > 40
    assert crawl.problems == [], "\n".join(crawl.problems)


def test_search_without_diacritics_and_the_printed_receipt_with_its_qr_code(suite, browser, files):
    url, api, b = suite["url"], suite["api"], browser
    for typed, expected in (
        ("giay phep lai xe", "GT-GPLX-01"),
        ("LY LICH TU PHAP", "TP-LLTP-01"),
        ("ho kinh doanh", "KH-HKD-01"),
        ("dang ky khai sinh", "TP-HT-01"),
    ):
        b.get(f"{url}/?q={typed.replace(' ', '+')}")
        assert b.find_all(f"a[href='/thu-tuc/{expected}']"), typed
        shown = len(b.find_all("#danh-muc tbody a"))
        assert f"Tìm thấy {shown} thủ tục" in b.text("#so-thu-tuc"), typed  # the total is the rows shown

    # Q&A: a published answer about marriage status is found typing "hon nhan".
    asked = requests.post(
        f"{api}/feedback",
        timeout=20,
        json={
            "kind": "question",
            "subject": "Xác nhận tình trạng hôn nhân để vay vốn",
            "body": "Tôi cần giấy xác nhận tình trạng hôn nhân trong bao lâu?",
            "procedure_code": "TP-HT-02",
            "publish_consent": True,
            "contact": {"name": "Người Hỏi", "email": "hoi.honnhan@example.vn"},
        },
    ).json()
    token = requests.post(
        f"{api}/auth/login",
        timeout=20,
        json={"login": "off-gr-reception@demo.binhdinh.gov.vn", "password": DEMO_PASSWORD},
    ).json()["access_token"]
    r = requests.post(
        f"{api}/feedback/{asked['id']}/answer",
        headers={"Authorization": f"Bearer {token}"},
        json={"answer": "Trong 3 ngày làm việc kể từ khi nhận đủ hồ sơ."},
        timeout=20,
    )
    assert r.status_code == 200, r.text
    b.get(f"{url}/hoi-dap?q=hon+nhan")
    assert "Xác nhận tình trạng hôn nhân để vay vốn" in b.source
    assert (
        b.js("return document.querySelector('#procedure_code option[value=\"TP-HT-02\"]').textContent")
        == "Xác nhận tình trạng hôn nhân"
    )  # the procedure is chosen by its name

    # File, then print the receipt and read its QR code back: it opens the public lookup.
    person = new_citizen()
    assert requests.post(f"{api}/auth/register", json=person, timeout=20).status_code == 201
    sign_in(b, url, person["email"], person["password"])
    code = file_through_the_form(b, url, "TP-HT-02", files)
    assert "?da-nop=1" in b.url  # POST → redirect → GET: a refresh shows the dossier, files nothing again
    secret = b.text("#ma-bi-mat")
    cookies = {c["name"]: c["value"] for c in b.cmd("GET", "/cookie")}
    pdf = requests.get(f"{url}/ho-so-cua-toi/{code}/giay-tiep-nhan", cookies=cookies, timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    path = ARTIFACTS / "giay-tiep-nhan.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text and code in text and secret in text
    assert "Xác nhận tình trạng hôn nhân" in text and "15.000 đ" in text
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(ARTIFACTS / "giay-tiep-nhan")], check=True
    )
    qr = subprocess.run(
        ["zbarimg", "-q", "--raw", str(ARTIFACTS / "giay-tiep-nhan.png")], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert qr.startswith(f"{url}/tra-cuu?") and code in qr and secret in qr
    sign_out(b)
    b.get(qr)  # anyone holding the paper
    assert code in b.text("#kq") and "Đã nộp" in b.source

    # The secret also reaches the inbox and the e-mail of the filing notice.
    sign_in(b, url, person["email"], person["password"])
    wait_for(lambda: secret in (b.get(f"{url}/thong-bao") or b.source), timeout=20)
    sign_out(b)

    # Downloadable form templates keep their Vietnamese (the name and the text).
    form = requests.get(f"{api}/procedures/TP-HT-01/forms/TK-KS", timeout=20)
    assert "filename*=UTF-8''T%E1%BB%9D" in form.headers["Content-Disposition"]
    (ARTIFACTS / "mau.pdf").write_bytes(form.content)
    text = subprocess.run(
        ["pdftotext", str(ARTIFACTS / "mau.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Tờ khai đăng ký khai sinh" in text


def test_unknown_url_and_errors_answer_a_browser_in_vietnamese_and_an_api_client_in_json(suite):
    url = suite["url"]
    page = requests.get(f"{url}/khong-co-trang-nay", headers={"Accept": "text/html,*/*;q=0.8"}, timeout=10)
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "Không tìm thấy trang" in page.text and 'lang="vi"' in page.text
    api = requests.get(f"{url}/khong-co-trang-nay", headers={"Accept": "application/json"}, timeout=10)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert "Không tìm thấy" in api.json()["error"]["message"]
    under_api = requests.get(f"{url}/api/v1/khong-co", headers={"Accept": "text/html"}, timeout=10)
    assert under_api.headers["Content-Type"].startswith("application/json")  # the API always answers JSON
    wrong = requests.post(f"{suite['api']}/auth/register", json={"kind": "individual"}, timeout=10).json()
    messages = [d["message"] for d in wrong["error"]["details"]]
    assert "Bắt buộc phải nhập." in messages and not any(ENGLISH.search(m) for m in messages)
