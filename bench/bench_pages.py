"""Benchmark: the officials' work queue and case page with 10,000 cases in the agency, the catalog
search over 2,000 procedures and the public statistics of every one of them (issues #13, #15).

    .venv/bin/python bench/bench_pages.py [--cases 10000] [--procedures 2000] [--rounds 15]

Starts intake, processing and the gateway in throw-away databases, files one real dossier through
the API and takes it through reception and assignment, then clones its case (with its history), its
dossier and its files 10,000 times into UBND-GR, and 2,000 procedures into the catalog. Prints the
gateway's own time per page (its Server-Timing header: from the request to the rendered page,
every RPC included), median and 90th percentile.
"""

import argparse
import base64
import copy
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import base_env, running, seed  # noqa: E402
from ops import suite  # noqa: E402
from tests.helpers import PDF, PNG, new_citizen  # noqa: E402

BIRTH = {
    "procedure_code": "TP-HT-01",
    "delivery_method": "in_person",
    "form_data": {
        "child_full_name": "Trần Bảo Ngọc",
        "child_date_of_birth": "2026-11-20",
        "child_sex": "nữ",
        "place_of_birth": "Bệnh viện Đa khoa tỉnh Bình Định",
        "mother_full_name": "Lê Thị Hoa",
        "relationship_of_declarant": "mẹ",
    },
    "attachments": [
        {
            "document_code": "TK-KS",
            "filename": "to-khai.pdf",
            "content_type": "application/pdf",
            "content_b64": base64.b64encode(PDF).decode(),
        },
        {
            "document_code": "GCS",
            "filename": "giay-chung-sinh.png",
            "content_type": "image/png",
            "content_b64": base64.b64encode(PNG).decode(),
        },
    ],
}


def server_ms(session: requests.Session, url: str, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        r = session.get(url, timeout=180)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        times.append(float(r.headers["Server-Timing"].split("dur=")[1]))
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def token(api: str, login: str, password: str) -> dict:
    r = requests.post(f"{api}/auth/login", json={"login": login, "password": password}, timeout=30)
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def clone_cases(client, prefix: str, code: str, n: int) -> str:
    """``n`` copies of one real case (document, history records), its dossier and file chunks."""
    proc, intake = client[f"{prefix}_processing"], client[f"{prefix}_intake"]
    case = proc.cases.find_one({"_id": code})
    records = list(proc.cases_transitions.find({"doc_id": code}))
    dossier = intake.dossiers.find_one({"_id": code})
    chunks = list(intake.attachment_chunks.find({"_id": {"$regex": f"^{code}-"}}))
    last = None
    for start in range(0, n, 500):
        cases, transitions, dossiers, parts = [], [], [], []
        for i in range(start, min(n, start + 500)):
            new = f"52-261201-B{i:07d}"
            last = new
            # due days spread over the next 40 days, as an agency's open cases are
            days = timedelta(days=i % 40)
            c = {
                **copy.deepcopy(case),
                "_id": new,
                "code": new,
                "due_at": case["due_at"] + days,
                "due_date": (date.fromisoformat(case["due_date"]) + days).isoformat(),
                "submitted_at": case["submitted_at"] + timedelta(minutes=i),
            }
            cases.append(c)
            for r in records:
                transitions.append({**copy.deepcopy(r), "_id": f"{new}#{r['version']}", "doc_id": new})
            d = copy.deepcopy(dossier)
            d.update(
                _id=new, code=new, attachments=[{**a, "id": a["id"].replace(code, new)} for a in dossier["attachments"]]
            )
            dossiers.append(d)
            parts += [{**p, "_id": p["_id"].replace(code, new)} for p in chunks]
        proc.cases.insert_many(cases)
        proc.cases_transitions.insert_many(transitions)
        intake.dossiers.insert_many(dossiers)
        intake.attachment_chunks.insert_many(parts)
    return last


def clone_procedures(client, prefix: str, n: int) -> None:
    procedures = client[f"{prefix}_intake"].procedures
    model = procedures.find_one({"_id": "GT-GPLX-01"})
    batch = []
    for i in range(n):
        code = f"BENCH-{i:05d}"
        batch.append(
            {
                **model,
                "_id": code,
                "code": code,
                "name": f"{model['name']} (bản sao {i})",
                "search_text": model["search_text"].replace("gt-gplx-01", code.lower()) + f" ban sao {i}",
            }
        )
        if len(batch) == 500:
            procedures.insert_many(batch)
            batch = []
    if batch:
        procedures.insert_many(batch)
    # written behind intake's back: tell its catalog cache, as publishing does
    client[f"{prefix}_intake"].catalog_meta.replace_one(
        {"_id": "token"}, {"_id": "token", "token": f"bench{n}"}, upsert=True
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--procedures", type=int, default=2_000)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    env = base_env(GATEWAY_ADDRESS=f"127.0.0.1:{suite.free_port()}", LOG_LEVEL="WARNING", RPC_TIMEOUT="120")
    seed(env)
    with running(["intake", "processing", "reporting", "gateway"], env) as (procs, client):
        url = suite.gateway_url(env)
        _wait(url)
        api = f"{url}/api/v1"
        print(f"machine: {os.cpu_count()} cores")
        citizen = new_citizen()
        requests.post(f"{api}/auth/register", json=citizen, timeout=30).raise_for_status()
        auth = token(api, citizen["email"], citizen["password"])
        code = requests.post(f"{api}/dossiers", json=BIRTH, headers=auth, timeout=30).json()["dossier"]["code"]
        reception = token(api, "off-gr-reception@demo.binhdinh.gov.vn", "demo-password-2026")
        while requests.get(f"{api}/cases/{code}", headers=reception, timeout=30).status_code != 200:
            time.sleep(0.2)
        for command in ({"action": "receive"}, {"action": "assign", "department_id": "GR-TPHT"}):
            version = requests.get(f"{api}/cases/{code}", headers=reception, timeout=30).json()["version"]
            r = requests.post(
                f"{api}/cases/{code}/commands",
                headers=reception,
                timeout=30,
                json={**command, "expected_version": version},
            )
            assert r.status_code == 200, r.text
        t0 = time.perf_counter()
        last = clone_cases(client, env["DB_PREFIX"], code, args.cases)
        clone_procedures(client, env["DB_PREFIX"], args.procedures)
        print(
            f"setup: {args.cases} cases (with history, dossier, files) in UBND-GR and {args.procedures} more "
            f"procedures in {time.perf_counter() - t0:.1f} s"
        )

        t0 = time.perf_counter()
        total = requests.get(f"{api}/cases", headers=reception, timeout=600).json()["total"]
        web = requests.Session()
        page = web.get(f"{url}/dang-nhap", timeout=30).text
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        web.post(
            f"{url}/dang-nhap",
            data={
                "csrf": csrf,
                "login": "off-gr-reception@demo.binhdinh.gov.vn",
                "password": "demo-password-2026",
                "next": "/can-bo",
            },
            timeout=600,
        )
        print(
            f"first queue page, building the queue index of {args.cases} cases once: "
            f"{time.perf_counter() - t0:.1f} s; the queue lists {total} cases"
        )
        assert total == args.cases + 1, total
        rows = [
            ("queue page 1 (/can-bo)", f"{url}/can-bo"),
            ("queue page 100 (/can-bo?trang=100)", f"{url}/can-bo?trang=100"),
            ("queue, overdue only (/can-bo?flag=overdue)", f"{url}/can-bo?flag=overdue"),
            ("case page (/can-bo/ho-so/<code>)", f"{url}/can-bo/ho-so/{last}"),
            ("catalog search, web (/?q=giay+phep+lai+xe)", f"{url}/?q=giay+phep+lai+xe"),
            ("catalog search, API (/api/v1/procedures?q=lai xe)", f"{api}/procedures?q=lai%20xe"),
            ("public statistics, API (/api/v1/statistics)", f"{api}/statistics"),
            ("public statistics, web (/thong-ke)", f"{url}/thong-ke"),
        ]
        for label, link in rows:
            median, p90 = server_ms(web, link, args.rounds)
            print(f"{label}: server {median:.0f} ms median, {p90:.0f} ms p90 ({args.rounds} requests)")


def _wait(url: str) -> None:
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if requests.get(f"{url}/api/v1/procedures", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError("the gateway did not answer")


if __name__ == "__main__":
    main()
