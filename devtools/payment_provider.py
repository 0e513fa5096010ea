"""A simulated payment provider: a small real HTTP app for development and tests.

    python -m devtools.payment_provider --port 8090 --secret <shared secret>

  POST /api/sessions      (signed by the merchant) → {session_id, pay_url}
  GET  /pay/<session>     a payment page with "pay" and "cancel"
  POST /pay/<session>     outcome=success|fail|cancel → signed callback to the merchant, then
                          a redirect to its return URL (JSON instead with Accept: application/json)
  POST /api/refunds       (signed) → {refund_txn, status}
  GET  /api/statement     ?date=YYYY-MM-DD (signed) → every transaction of that day
  POST /api/statement/plant (tests only) → add a transaction the merchant never saw

State is kept in memory; it is a simulator, not a bank.
"""

from __future__ import annotations

import argparse
import json
import threading
import uuid

import requests
from werkzeug.exceptions import BadRequest, Forbidden, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from services.common import clock
from services.payment.signing import signed, valid


class Provider:
    def __init__(self, secret: str, public_url: str):
        self.secret, self.public_url = secret, public_url.rstrip("/")
        self.sessions: dict[str, dict] = {}
        self.transactions: list[dict] = []
        self.lock = threading.Lock()
        self.url_map = Map(
            [
                Rule("/api/sessions", methods=["POST"], endpoint="create_session"),
                Rule("/pay/<session_id>", methods=["GET"], endpoint="page"),
                Rule("/pay/<session_id>", methods=["POST"], endpoint="complete"),
                Rule("/api/refunds", methods=["POST"], endpoint="refund"),
                Rule("/api/statement", methods=["GET"], endpoint="statement"),
                Rule("/api/statement/plant", methods=["POST"], endpoint="plant"),
            ]
        )

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, values = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, endpoint)(request, **values)
        except (BadRequest, Forbidden, NotFound) as exc:
            response = Response(json.dumps({"error": exc.description}), status=exc.code, mimetype="application/json")
        return response(environ, start_response)

    def _signed_body(self, request: Request) -> dict:
        data = request.get_json(silent=True) or request.args.to_dict()
        if not valid(data, self.secret):
            raise Forbidden("bad signature")
        return data

    def create_session(self, request):
        data = self._signed_body(request)
        session_id = uuid.uuid4().hex[:16]
        with self.lock:
            self.sessions[session_id] = {**data, "session_id": session_id, "status": "open"}
        return Response(
            json.dumps({"session_id": session_id, "pay_url": f"{self.public_url}/pay/{session_id}"}),
            mimetype="application/json",
        )

    def page(self, request, session_id):
        s = self.sessions.get(session_id) or {}
        if not s:
            raise NotFound("no such session")
        html = (
            f"<html><body><h1>Cổng thanh toán (mô phỏng)</h1><p>Thanh toán {s['amount']} {s['currency']} "
            f"cho {s['reference']}</p><form method=post><button name=outcome value=success>Thanh toán</button>"
            f"<button name=outcome value=cancel>Huỷ</button></form></body></html>"
        )
        return Response(html, mimetype="text/html")

    def complete(self, request, session_id):
        outcome = request.form.get("outcome") or (request.get_json(silent=True) or {}).get("outcome")
        if outcome not in ("success", "fail", "cancel"):
            raise BadRequest("outcome must be success, fail or cancel")
        with self.lock:
            s = self.sessions.get(session_id)
            if not s:
                raise NotFound("no such session")
            if s["status"] != "open":
                raise BadRequest("session already completed")
            s["status"] = outcome
            txn = f"SIM{uuid.uuid4().hex[:12].upper()}"
            if outcome == "success":
                self.transactions.append(
                    {
                        "txn": txn,
                        "kind": "payment",
                        "reference": s["reference"],
                        "amount": int(s["amount"]),
                        "currency": s["currency"],
                        "at": clock.now().isoformat(),
                    }
                )
        callback = signed(
            {
                "merchant": s["merchant"],
                "reference": s["reference"],
                "amount": s["amount"],
                "currency": s["currency"],
                "status": outcome,
                "txn": txn,
                "event_id": uuid.uuid4().hex,
                "paid_at": clock.now().isoformat(),
            },
            self.secret,
        )
        try:
            delivered = requests.post(s["callback_url"], data=callback, timeout=15).status_code
        except requests.RequestException:
            delivered = None
        if "application/json" in request.headers.get("Accept", ""):
            return Response(
                json.dumps({"callback": callback, "callback_status": delivered}), mimetype="application/json"
            )
        return Response(status=302, headers={"Location": s.get("return_url") or "/"})

    def refund(self, request):
        data = self._signed_body(request)
        with self.lock:
            paid = next((t for t in self.transactions if t["txn"] == data["txn"] and t["kind"] == "payment"), None)
            if paid is None:
                raise BadRequest("unknown transaction")
            done = sum(t["amount"] for t in self.transactions if t.get("of") == data["txn"])
            if done + int(data["amount"]) > paid["amount"]:
                raise BadRequest("refund exceeds payment")
            refund_txn = f"SIMR{uuid.uuid4().hex[:11].upper()}"
            self.transactions.append(
                {
                    "txn": refund_txn,
                    "kind": "refund",
                    "of": data["txn"],
                    "reference": data["reference"],
                    "amount": int(data["amount"]),
                    "currency": paid["currency"],
                    "at": clock.now().isoformat(),
                }
            )
        return Response(
            json.dumps(
                signed({"refund_txn": refund_txn, "status": "refunded", "reference": data["reference"]}, self.secret)
            ),
            mimetype="application/json",
        )

    def statement(self, request):
        data = self._signed_body(request)
        day = data["date"]
        rows = [t for t in self.transactions if t["at"][:10] == day]
        return Response(json.dumps({"date": day, "transactions": rows}), mimetype="application/json")

    def plant(self, request):
        row = request.get_json()
        with self.lock:
            self.transactions.append(row)
        return Response(json.dumps({"ok": True}), mimetype="application/json")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--secret", default="dev-only-provider-secret")
    args = ap.parse_args()
    app = Provider(args.secret, f"http://{args.host}:{args.port}")
    print(f"simulated payment provider on http://{args.host}:{args.port}", flush=True)
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
