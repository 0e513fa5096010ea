"""Issue #8: the web portal in a real browser (Debian's chromium, headless, through chromedriver):
a citizen registers, files a dossier from the generated eForm with attachments and follows it;
an official finds it in the work queue and receives it; the pages work on a phone-sized screen,
load nothing from outside, and refuse forms without their CSRF token. Screenshots are kept in
var/artifacts/web/ for the CI run."""

import re
import time

import pytest
import requests

from ops import suite as suite_mod
from services.common.calendar import default_calendar
from services.common.config import ROOT
from tests.e2e.test_payments import file_signed
from tests.helpers import PDF, PNG, new_citizen
from tests.webdriver import Browser, find_browser

ARTIFACTS = ROOT / "var" / "artifacts" / "web"
DEMO_PASSWORD = "demo-password-2026"


@pytest.fixture(scope="module")
def browser():
    found = find_browser()
    if found is None:
        pytest.skip("chromium and chromedriver are not installed (make test installs them: scripts/infra tools)")
    b = Browser(*found, port=suite_mod.free_port())
    yield b
    b.quit()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    (folder / "to-khai.pdf").write_bytes(PDF)
    (folder / "giay-chung-sinh.png").write_bytes(PNG)
    return folder


def sign_in(b, url, login, password):
    b.get(f"{url}/dang-nhap")
    b.type("#login", login)
    b.type("#password", password)
    b.go("form[action='/dang-nhap'] button[type=submit]")
    b.find("form[action='/dang-xuat']", timeout=20)  # signed in: the page after the redirect has loaded


def sign_out(b):
    b.go("form[action='/dang-xuat'] button")
    b.find("a[href='/dang-nhap']", timeout=20)  # a click does not wait for the page it leads to


def test_citizen_files_and_follows_a_dossier_an_official_receives_it(suite, browser, files):
    url, b = suite["url"], browser
    citizen = new_citizen(full_name="Trần Thị Bích")

    # Home: search the catalog and open the procedure page (R5 content, statistics R8).
    b.get(f"{url}/")
    b.type("#q", "khai sinh")
    b.go("form.search button")
    b.go("a[href='/thu-tuc/TP-HT-01']")
    page = b.source
    assert "Thành phần hồ sơ" in page and "Căn cứ pháp lý" in page and "Luật Hộ tịch 2014" in page
    # R34 and the due-date preview: the announcement decision, and the day the result is due if filed today
    clock = suite["clock"]
    due = default_calendar().add_working_days(clock.local_today(), 1).strftime("%d/%m/%Y")
    assert "Nếu nộp hôm nay, ngày hẹn trả kết quả" in b.text("#ngay-hen") and due in b.text("#ngay-hen")
    assert "Quyết định số" in page
    b.screenshot(ARTIFACTS / "01-thu-tuc.png")

    # Register, then sign in.
    b.get(f"{url}/dang-ky")
    for field in ("full_name", "national_id", "date_of_birth", "email", "phone", "password"):
        if field == "date_of_birth":
            b.js("document.getElementById('date_of_birth').value = arguments[0]", citizen[field])
        else:
            b.type(f"#{field}", citizen[field])
    b.go("form[action='/dang-ky'] button[type=submit]")
    assert "Đăng ký thành công" in b.text(".notice")
    b.type("#password", citizen["password"])
    b.click("form[action='/dang-nhap'] button[type=submit]")
    b.wait_text("h1", "Hồ sơ của tôi")

    # The filing form generated from the eForm schema: the browser's checks speak Vietnamese.
    b.get(f"{url}/nop-ho-so/TP-HT-01")
    assert unlabelled(b) == []
    message = b.js(
        "const f = document.getElementById('nop-ho-so'); f.reportValidity();"
        "return document.getElementById('tk-child_full_name').validationMessage"
    )
    assert message == "Vui lòng nhập thông tin này."
    b.type("#tk-child_full_name", "Trần Gia Hân")
    b.js("document.getElementById('tk-child_date_of_birth').value = '2026-11-20'")
    b.click("#tk-child_sex option[value='nữ']")
    b.type("#tk-place_of_birth", "Bệnh viện Đa khoa tỉnh Bình Định")
    b.type("#tk-mother_full_name", "Trần Thị Bích")
    b.click("#tk-relationship_of_declarant option[value='mẹ']")
    b.upload("#doc-TK-KS", files / "to-khai.pdf")
    b.upload("#doc-GCS", files / "giay-chung-sinh.png")
    # Filed from the web without a signature: handled as level 3, so no online return is offered (Art. 7.2a)
    assert b.find_all("input[name=delivery_method][value=online]") == []
    assert "mức độ 3" in b.text("#muc-do-3")
    b.click("input[name=delivery_method][value=in_person]")
    b.screenshot(ARTIFACTS / "02-nop-ho-so.png")
    b.click("#nop-ho-so button[type=submit]")
    code = b.text("#ma-ho-so", timeout=30)
    assert re.fullmatch(r"\d{2}-[\w-]+", code), code
    assert due in b.text("#ngay-hen")  # the receipt shows the same day as the procedure page
    b.screenshot(ARTIFACTS / "03-da-nop.png")

    # My dossiers and the dossier's page.
    b.get(f"{url}/ho-so-cua-toi")
    assert code in b.source
    b.go(f"a[href='/ho-so-cua-toi/{code}']")
    assert "to-khai.pdf" in b.source
    sign_out(b)

    # The reception official: the work queue, the dossier, the "receive" action.
    sign_in(b, url, "off-gr-reception@demo.binhdinh.gov.vn", DEMO_PASSWORD)
    b.wait_text("h1", "Hồ sơ cần xử lý")
    for _ in range(30):  # the case opens from the filing event
        if code in b.source:
            break
        b.get(f"{url}/can-bo")
    b.screenshot(ARTIFACTS / "04-hang-doi.png")
    b.go(f"a[href='/can-bo/ho-so/{code}']")
    assert "Trần Gia Hân" in b.source and "giay-chung-sinh.png" in b.source
    assert unlabelled(b) == []
    act(b, "request_supplement", {"#request_supplement-missing": "GCS | Giấy chứng sinh bản rõ nét hơn"})
    b.wait_text("#tinh-trang", "Cần bổ sung")
    sign_out(b)

    # The citizen sees what is missing and sends it.
    sign_in(b, url, citizen["email"], citizen["password"])
    b.get(f"{url}/ho-so-cua-toi/{code}")
    assert "Giấy chứng sinh bản rõ nét hơn" in b.source
    b.upload("#bs-GCS", files / "giay-chung-sinh.png")
    b.click("#form-bo-sung details summary")  # and corrects the place of birth on the form (Art. 15.4)
    b.js("document.getElementById('sua-place_of_birth').value = ''")
    b.type("#sua-place_of_birth", "Trạm y tế phường Ghềnh Ráng")
    b.go("#form-bo-sung button[type=submit]")
    b.wait_text("#tinh-trang", "Đã nộp")
    sign_out(b)

    # Reception receives it, the department proposes, the leader signs the result.
    sign_in(b, url, "off-gr-reception@demo.binhdinh.gov.vn", DEMO_PASSWORD)
    b.get(f"{url}/can-bo/ho-so/{code}")
    # the official sees the correction with its old and new value, and only reception's actions
    assert "Bệnh viện Đa khoa tỉnh Bình Định → Trạm y tế phường Ghềnh Ráng" in b.source
    assert b.find_all("#form-approve") == [] and b.find_all("#form-receive") != []
    act(b, "receive", {})
    b.wait_text("#tinh-trang", "Đã tiếp nhận")
    b.screenshot(ARTIFACTS / "05-da-tiep-nhan.png")
    b.click("details:has(#form-assign) summary")  # the department is chosen by its name from the agency's list
    b.click("#assign-department_id option[value='GR-TPHT']")
    assert "Công chức Tư pháp - Hộ tịch" in b.text("#assign-department_id")
    b.go("#form-assign button[type=submit]")
    b.wait_text("#tinh-trang", "Đang xử lý")
    sign_out(b)
    sign_in(b, url, "off-gr-specialist@demo.binhdinh.gov.vn", DEMO_PASSWORD)
    b.get(f"{url}/can-bo/ho-so/{code}")
    act(b, "propose", {"#propose-summary": "Đủ điều kiện đăng ký khai sinh"})
    b.wait_text("#tinh-trang", "Chờ lãnh đạo duyệt")
    sign_out(b)
    sign_in(b, url, "off-gr-leader@demo.binhdinh.gov.vn", DEMO_PASSWORD)
    b.get(f"{url}/can-bo/ho-so/{code}")
    act(b, "approve", {}, uploads={"#approve-result_document": files / "to-khai.pdf"})
    b.wait_text("#tinh-trang", "Đã duyệt")
    sign_out(b)
    sign_in(b, url, "off-gr-reception@demo.binhdinh.gov.vn", DEMO_PASSWORD)
    b.get(f"{url}/can-bo/ho-so/{code}")
    act(b, "mark_result_ready", {})
    b.wait_text("#tinh-trang", "Có kết quả")
    assert "request_supplement" in b.source and "approve" in b.source  # the history lists every step
    assert "giao Công chức Tư pháp - Hộ tịch xử lý" in b.text("#nhat-ky")  # by the department's name
    b.click("details:has(#form-deliver) summary")
    b.click("#deliver-method option[value='in_person']")
    b.go("#form-deliver button[type=submit]")
    b.wait_text("#tinh-trang", "Đã trả kết quả")
    sign_out(b)

    # The citizen keeps the electronic copy of the result and rates the service.
    sign_in(b, url, citizen["email"], citizen["password"])
    b.get(f"{url}/ho-so-cua-toi/{code}")
    b.wait_text("#tinh-trang", "Đã trả kết quả")
    cookies = {c["name"]: c["value"] for c in b.cmd("GET", "/cookie")}
    href = b.js("return document.getElementById('ban-dien-tu').getAttribute('href')")
    result = requests.get(f"{url}{href}", cookies=cookies, timeout=20)
    assert result.status_code == 200 and result.content == PDF
    b.click("input[name=score][value='5']")
    b.go("form[action$='/danh-gia'] button[type=submit]")
    b.screenshot(ARTIFACTS / "06-ket-qua.png")
    b.get(f"{url}/thong-bao")
    assert code in b.source  # notices of the case's steps reach the inbox
    sign_out(b)


def unlabelled(b):
    """Form controls a screen reader could not name (accessibility)."""
    return b.js(
        "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))"
        ".filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name || e.id)"
    )


def act(b, action, fields, uploads=None):
    """An official's workflow action on the case page: open it, fill its form, submit."""
    b.click(f"details:has(#form-{action}) summary")
    for css, value in fields.items():
        b.type(css, value)
    for css, path in (uploads or {}).items():
        b.upload(css, path)
    b.go(f"#form-{action} button[type=submit]")


def test_phone_screen_no_external_resources_security_headers_and_csrf(suite, browser):
    url, b = suite["url"], browser
    b.resize(390, 844)
    try:
        for path in ("/", "/thu-tuc/TP-HT-01", "/thong-ke", "/tra-cuu", "/dang-nhap", "/hoi-dap", "/dang-ky"):
            b.get(f"{url}{path}")
            assert b.js("return document.documentElement.scrollWidth <= window.innerWidth + 1"), path
            assert not re.search(r'(src|href|action)="(https?:)?//', b.source), f"external resource on {path}"
        b.get(f"{url}/thong-ke")
        assert "<svg" in b.source
        b.screenshot(ARTIFACTS / "07-thong-ke-dien-thoai.png")
    finally:
        b.resize(1280, 900)
    r = requests.get(f"{url}/", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert r.headers["X-Frame-Options"] == "DENY" and "cdvc_csrf" in r.headers.get("Set-Cookie", "")
    # A form posted without its token (as a forged cross-site form would be) is refused.
    forged = requests.post(f"{url}/dang-nhap", data={"login": "x@example.vn", "password": "y"}, timeout=10)
    assert forged.status_code == 403 and "Phiên biểu mẫu không hợp lệ" in forged.text
    # Labels for every input (accessibility): each visible input of the registration form has one.
    page = requests.get(f"{url}/dang-ky", timeout=10).text
    ids = re.findall(r'<input id="([\w-]+)"', page)
    assert ids and all(f'for="{i}"' in page for i in ids)
    lookup = requests.get(f"{url}/tra-cuu", timeout=10, cookies=r.cookies)
    assert lookup.status_code == 200 and 'lang="vi"' in lookup.text


def test_anonymous_question_with_its_csrf_token_is_accepted_and_bad_input_explained(suite):
    url = suite["url"]
    with requests.Session() as web:
        page = web.get(f"{url}/hoi-dap", timeout=10).text
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        r = web.post(
            f"{url}/hoi-dap",
            timeout=20,
            data={
                "csrf": token,
                "subject": "Hỏi về giấy khai sinh",
                "body": "Tôi cần mang theo giấy tờ gì khi nhận kết quả?",
                "procedure_code": "TP-HT-01",
                "name": "Người Hỏi",
                "email": "nguoi.hoi@example.vn",
            },
        )
        assert r.status_code == 201 and "Đã gửi câu hỏi" in r.text
        assert "nguoi.hoi@example.vn" not in r.text  # the asker's address is not echoed into the public page
        r = web.post(
            f"{url}/hoi-dap",
            timeout=20,
            data={
                "csrf": token,
                "subject": "Hỏi",
                "body": "ngắn",
                "procedure_code": "TP-HT-01",
                "name": "A",
                "email": "khong-phai-email",
            },
        )
        assert r.status_code == 422 and 'role="alert"' in r.text


def test_server_side_checks_speak_vietnamese_and_level4_fee_is_paid_from_the_dossier_page(suite, browser, citizen):
    url, b = suite["url"], browser
    profile, _ = citizen
    sign_in(b, url, profile["email"], profile["password"])
    b.wait_text("h1", "Hồ sơ của tôi")

    # The browser's checks switched off, as an old browser would: the server's answer names the fields.
    b.get(f"{url}/nop-ho-so/TP-HT-01")
    b.js("document.getElementById('nop-ho-so').noValidate = true")
    b.type("#tk-mother_national_id", "123")
    b.click("#nop-ho-so button[type=submit]")  # sent by the upload script: the answer replaces the page
    alert = b.text("#loi-nop", timeout=20)
    assert "Họ, chữ đệm và tên của trẻ: Bắt buộc phải nhập." in alert
    assert "Số định danh cá nhân của mẹ: Sai định dạng." in alert
    # issue #13: each message also stands next to its field, which is marked invalid and keeps what was typed
    field = "document.getElementById('tk-mother_national_id')"
    assert b.js(f"return {field}.getAttribute('aria-invalid')") == "true" and b.js(f"return {field}.value") == "123"
    assert b.text("#tk-mother_national_id-loi") == "Sai định dạng."
    assert "tk-mother_national_id-loi" in b.js(f"return {field}.getAttribute('aria-describedby')")
    b.screenshot(ARTIFACTS / "08-loi-nop.png")

    # A signed level-4 dossier (filed with a signing tool through the API) is paid from its page.
    code = file_signed(suite, citizen)
    b.get(f"{url}/ho-so-cua-toi/{code}")
    b.click("#form-thanh-toan button[type=submit]")
    for _ in range(50):  # our page moves on to the provider's by itself (its link is the fallback)
        if "Cổng thanh toán (mô phỏng)" in b.source:
            break
        time.sleep(0.2)
    assert "Cổng thanh toán (mô phỏng)" in b.source, b.source[-600:]
    b.go("button[value=success]")
    b.wait_text("h1", f"Hồ sơ {code}")
    for _ in range(30):
        if "form-thanh-toan" not in b.source:
            break
        b.get(f"{url}/ho-so-cua-toi/{code}")
    assert "form-thanh-toan" not in b.source, "the fee is paid: no payment button any more"
    b.screenshot(ARTIFACTS / "09-da-thanh-toan.png")
    sign_out(b)


def test_desk_filing_and_workflow_pages(suite, browser, files):
    """Issue #12 in the browser: reception files a paper dossier brought to the desk (a level-1
    procedure, channel in_person); an agency admin declares a procedure's workflow and sees a bad
    one refused with the reason; anyone reads the agency directory."""
    url, b = suite["url"], browser
    sign_in(b, url, "off-gr-reception@demo.binhdinh.gov.vn", DEMO_PASSWORD)
    b.get(f"{url}/can-bo/tiep-nhan")
    b.go("a[href='/can-bo/tiep-nhan/TP-CT-01']")
    assert unlabelled(b) == []
    b.type("#nn-name", "Lê Văn Chín")
    b.type("#nn-nid", "079090009999")
    b.upload("#doc-BAN-CHINH", files / "to-khai.pdf")
    b.upload("#doc-BAN-SAO", files / "to-khai.pdf")
    b.go("#tiep-nhan button[type=submit]")
    code = b.text("#ma-ho-so", timeout=30)
    b.screenshot(ARTIFACTS / "08-tiep-nhan-truc-tiep.png")
    b.go(f"a[href='/can-bo/ho-so/{code}']")
    b.wait_text("#tinh-trang", "Đã nộp")
    assert "Hạn tiếp nhận" in b.text("#thoi-han")
    act(b, "receive", {})
    b.wait_text("#tinh-trang", "Đã tiếp nhận")
    sign_out(b)

    sign_in(b, url, "off-gr-admin@demo.binhdinh.gov.vn", DEMO_PASSWORD)
    b.get(f"{url}/can-bo/quy-trinh/TP-CT-01")
    assert unlabelled(b) == []
    b.type("#review-days", "5")  # more than the procedure's 1 day
    b.go("#form-quy-trinh button[type=submit]")
    assert "vượt thời hạn giải quyết" in b.text("#loi-quy-trinh")
    b.type("#review-days", "1")
    b.type("#review-name", "Công chức tư pháp chứng thực")
    b.go("#form-quy-trinh button[type=submit]")
    assert "Đã công bố phiên bản" in b.source
    sign_out(b)
    b.get(f"{url}/thu-tuc/TP-CT-01")
    assert "Công chức tư pháp chứng thực" in b.text("#quy-trinh")
    b.get(f"{url}/co-quan")
    assert "UBND phường Ghềnh Ráng" in b.text("#danh-ba")
