"""Example: a ministry system files a birth registration, reads its status and listens for changes.

    python -m clients.portal_ministry_client.example --amqp amqp://guest:guest@127.0.0.1:5672/portal \
        --system dev-moj-hotich --secret dev-only-moj-secret
"""

from __future__ import annotations

import argparse
import base64
import json
import uuid

from . import MinistryClient, MinistryError

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/portal")
    ap.add_argument("--system", default="dev-moj-hotich")
    ap.add_argument("--secret", default="dev-only-moj-secret")
    ap.add_argument("--listen", type=float, default=5.0, help="seconds to wait for status changes")
    args = ap.parse_args()
    request = {
        "procedure_code": "TP-HT-01",
        "delivery_method": "online",
        "form_data": {
            "child_full_name": "Nguyễn Văn An",
            "child_date_of_birth": "2026-11-01",
            "child_sex": "nam",
            "place_of_birth": "Trạm Y tế xã",
            "mother_full_name": "Trần Thị Bình",
            "relationship_of_declarant": "mẹ",
        },
    }
    attachments = [
        {
            "document_code": code,
            "filename": f"{code.lower()}.pdf",
            "content_type": "application/pdf",
            "content_b64": base64.b64encode(PDF).decode(),
        }
        for code in ("TK-KS", "GCS")
    ]
    with MinistryClient(args.amqp, args.system, args.secret, timeout=15) as portal:
        try:
            filed = portal.file_dossier(f"HT-{uuid.uuid4().hex[:8]}", request, attachments)
            print("filed:", json.dumps(filed, ensure_ascii=False))
            status = portal.dossier_status(filed["dossier_code"])
            print("status:", status["status"], "entries:", len(status["entries"]))
            portal.subscribe()
            for change in portal.status_changes(timeout=args.listen):
                print("change:", json.dumps(change, ensure_ascii=False))
        except MinistryError as exc:
            print(f"refused: {exc.code}: {exc.message} {exc.details or ''}")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
