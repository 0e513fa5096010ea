"""Demo data: agencies, departments, a catalog of real-world procedures and
demo officials of every role. Idempotent: running it twice changes nothing,
and a changed procedure is published as a new version (R7).

    python -m devtools.demo_data
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from contracts.intake import Agency, ProcedureIn
from services.common import files as att
from services.common import pdf as documents
from services.common.config import load_config
from services.common.events import utcnow
from services.common.mongo import make_client
from services.intake.dependencies import IntakeStore
from services.intake.service import hash_password

DATA = Path(__file__).with_name("data") / "demo_catalog.json"
# Development default only, printed at seeding so a developer can sign in.
DEMO_PASSWORD = "demo-password-2026"
DEMO_OFFICIALS = [
    # id, role, agency, department, name
    ("off-stp-reception", "reception", "STP", "STP-TN", "Nguyễn Thị Lan"),
    ("off-stp-specialist", "specialist", "STP", "STP-HCTP", "Trần Văn Minh"),
    ("off-stp-leader", "leader", "STP", "STP-LD", "Lê Quang Huy"),
    ("off-stp-admin", "agency_admin", "STP", None, "Phạm Thu Hà"),
    ("off-qn-reception", "reception", "UBND-QN", "QN-TN", "Võ Thị Mai"),
    ("off-qn-specialist", "specialist", "UBND-QN", "QN-KT", "Đặng Văn Nam"),
    ("off-qn-leader", "leader", "UBND-QN", "QN-LD", "Huỳnh Đức Thắng"),
    ("off-qn-admin", "agency_admin", "UBND-QN", None, "Bùi Thị Hồng"),
    ("off-gr-reception", "reception", "UBND-GR", "GR-TN", "Ngô Thị Thu"),
    ("off-gr-specialist", "specialist", "UBND-GR", "GR-TPHT", "Lý Thị Kim"),
    ("off-gr-leader", "leader", "UBND-GR", "GR-LD", "Phan Văn Tài"),
    ("off-gr-admin", "agency_admin", "UBND-GR", None, "Trương Văn Lực"),
    ("off-province-operator", "operator", "VP-UBND", None, "Đoàn Minh Khoa"),
]


def load_catalog() -> dict:
    with open(DATA, encoding="utf-8") as fh:
        return json.load(fh)


def _same(current: dict, new: dict) -> bool:
    strip = lambda d: {k: v for k, v in d.items() if k not in ("version", "published_at", "_id")}
    return json.loads(json.dumps(strip(current), default=str)) == json.loads(json.dumps(strip(new), default=str))


def seed(store: IntakeStore) -> dict:
    catalog = load_catalog()
    counts = {"agencies": 0, "procedures_published": 0, "officials": 0}
    for raw in catalog["agencies"]:
        agency = Agency.model_validate(raw).model_dump(mode="json")
        store.upsert_agency(agency)
        counts["agencies"] += 1
    for raw in catalog["procedures"]:
        proc = ProcedureIn.model_validate(raw).model_dump(mode="json")
        current = store.current_procedure(proc["code"])
        if current is None or not _same(current, proc):
            store.publish_version(proc)
            counts["procedures_published"] += 1
    for raw in catalog["procedures"]:
        for doc in raw["required_documents"]:
            if doc.get("template_url") and not store.template(raw["code"], doc["code"]):
                pdf = documents.document(
                    [
                        f"MẪU: {doc['name']}",
                        f"Thủ tục: {raw['name']} ({raw['code']})",
                        "Họ và tên: ........................................",
                        "Số định danh cá nhân: .............................",
                        "Địa chỉ: ..........................................",
                        "Ngày ... tháng ... năm ....      Người khai (ký, ghi rõ họ tên)",
                    ]
                )
                digest = att.sha256(pdf)
                store.files.put(f"tpl-{digest[:32]}", pdf)
                store.put_template(
                    raw["code"],
                    doc["code"],
                    {
                        "procedure_code": raw["code"],
                        "document_code": doc["code"],
                        "filename": f"{doc['name']}.pdf",
                        "content_type": "application/pdf",
                        "size": len(pdf),
                        "sha256": digest,
                        "blob_id": f"tpl-{digest[:32]}",
                        "chunks": 1,
                        "uploaded_by": "demo",
                        "uploaded_at": utcnow(),
                    },
                )
                counts["form_templates"] = counts.get("form_templates", 0) + 1
    for account_id, role, agency_id, dept, name in DEMO_OFFICIALS:
        email = f"{account_id}@demo.binhdinh.gov.vn"
        if store.account(account_id):
            continue
        store.claim_keys(account_id, [f"email:{email}"])
        store.accounts.create(
            account_id,
            {
                "id": account_id,
                "kind": "official",
                "role": role,
                "name": name,
                "email": email,
                "phone": None,
                "agency_id": agency_id,
                "department_id": dept,
                "password_hash": hash_password(DEMO_PASSWORD),
                "created_at": utcnow(),
            },
            [],
        )
        counts["officials"] += 1
    return counts


def main() -> int:
    config = load_config("intake")
    client = make_client(config["MONGO_URI"])
    try:
        counts = seed(IntakeStore(client[config["MONGO_DB"]]))
    finally:
        client.close()
    print(f"demo data: {counts}; demo officials sign in as <id>@demo.binhdinh.gov.vn / {DEMO_PASSWORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
