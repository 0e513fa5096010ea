"""Postal service (R28–R30): the public postal operator collects paper dossiers and files them on the
citizen's behalf, returns results within 24 hours inside the province, and compensates losses."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from contracts.postal import (
    FileOnBehalf,
    OperatorUpdate,
    PickupRequest,
    ReturnStats,
    Shipment,
    ShipmentPage,
    ShipmentQuery,
)
from services.common import error_catalogue as catalogue
from services.common.event_contracts import CaseStatusChanged, ShipmentDelivered, ShipmentLost
from services.common.events import Actor, Event, handles, new_event, utcnow
from services.common.messaging import EventDispatcher, RpcProxy, rpc
from services.common.mongo import MongoDatabase
from services.common.schemas import dump, parse
from services.common.service_base import PortalService
from services.common.settings import Settings

from . import exceptions
from .dependencies import PostalStore
from .schemas import NEXT
from .settings import PostalSettings

SYSTEM = {"id": "postal", "role": "system"}
OPEN = ("requested", "picked_up", "in_transit", "failed_attempt")


class PostalService(PortalService):
    name = "postal"
    versioned = ("shipments",)

    store: PostalStore = MongoDatabase(PostalStore)
    dispatch = EventDispatcher()
    intake = RpcProxy("intake")
    settings: PostalSettings = Settings(PostalSettings)

    def _operator(self) -> str:
        return self.settings.postal_default_operator

    def _view(self, doc: dict) -> dict:
        return dump(Shipment.model_validate(doc))

    # --------------------------------------------------------------- pickup
    @rpc
    def request_pickup(self, actor: dict, payload: dict) -> dict:
        """R28: the citizen asks for a paper dossier to be collected."""
        who = Actor.model_validate(actor)
        req = parse(PickupRequest, payload, "pickup")
        if req.window_end <= req.window_start:
            raise catalogue.error("invalid_window")
        procedure = self.intake.get_procedure(req.procedure_code)  # 404 if unknown
        sid = f"PU{uuid.uuid4().hex[:14].upper()}"
        doc = {
            "id": sid,
            "kind": "pickup",
            "operator_id": self._operator(),
            "status": "requested",
            "account_id": who.id,
            "procedure_code": procedure["code"],
            "address": req.address.model_dump(),
            "contact": req.contact.model_dump(),
            "window_start": req.window_start,
            "window_end": req.window_end,
            "updates": [],
            "created_at": utcnow(),
        }
        created, _ = self.store.shipments.create(sid, doc, [])
        return self._view(created)

    @rpc
    def my_shipments(self, actor: dict) -> dict:
        who = Actor.model_validate(actor)
        docs = self.store.shipments.find({"account_id": who.id}, [("created_at", -1)], limit=100)
        return dump(ShipmentPage(items=[Shipment.model_validate(d) for d in docs], total=len(docs)))

    @rpc
    def get_shipment(self, actor: dict, sid: str) -> dict:
        who = Actor.model_validate(actor)
        doc = self.store.shipments.get(sid)
        if not doc or not (doc.get("account_id") == who.id or who.role == "operator"):
            raise exceptions.shipment_not_found(sid)
        return self._view(doc)

    # ------------------------------------------------------------- operator
    def _operators_shipment(self, operator_id: str, sid: str) -> dict:
        doc = self.store.shipments.get(sid)
        if not doc or doc["operator_id"] != operator_id:
            raise exceptions.shipment_not_found(sid)  # another operator's: as if it did not exist
        return doc

    @rpc
    def operator_shipments(self, operator_id: str, query: dict | None = None) -> dict:
        """The operator's shipments: delivery data only, never the dossier's content."""
        q = parse(ShipmentQuery, query or {}, "query")
        filt: dict[str, Any] = {"operator_id": operator_id}
        if q.status:
            filt["status"] = q.status
        if q.kind:
            filt["kind"] = q.kind
        docs = self.store.shipments.find(filt, [("created_at", 1)], limit=q.limit)
        return dump(ShipmentPage(items=[Shipment.model_validate(d) for d in docs], total=len(docs)))

    @rpc
    def operator_file(self, operator_id: str, sid: str, payload: dict) -> dict:
        """Postal staff file the collected paper dossier on the citizen's behalf (channel: postal).
        Intake refuses any document not on the procedure's list and any missing required one."""
        doc = self._operators_shipment(operator_id, sid)
        if doc["kind"] != "pickup":
            raise catalogue.error("not_a_pickup")
        req = parse(FileOnBehalf, payload, "dossier")
        filing = {
            "procedure_code": doc["procedure_code"],
            "form_data": req.form_data,
            "delivery_method": req.delivery_method,
            "delivery_address": req.delivery_address,
            "delivery_province_code": req.delivery_province_code,
        }
        citizen = {"id": doc["account_id"], "role": "citizen"}
        filed = self.intake.file_dossier(citizen, filing, req.attachments, f"postal:{sid}", "postal")
        code = filed["dossier"]["code"]
        doc, _ = self.store.shipments.change(
            doc, lambda current: None if current.get("dossier_code") == code else ({"dossier_code": code}, [])
        )
        return {"shipment": self._view(doc), "dossier_code": code}

    @rpc
    def operator_update(self, operator_id: str, sid: str, payload: dict) -> dict:
        """A status update; idempotent by the operator's event id; older-than-latest updates are kept as
        history without moving the status; impossible transitions are refused and change nothing."""
        update = parse(OperatorUpdate, payload, "update")

        def record(doc: dict) -> tuple[dict, list[dict]] | None:
            if any(u["event_id"] == update.event_id for u in doc.get("updates", [])):
                return None  # a repeat of an update already recorded
            applied = [u for u in doc.get("updates", []) if u.get("applied")]
            latest = max((u["at"] for u in applied), default=None)
            entry = {**update.model_dump(exclude={"proof"}), "received_at": utcnow()}
            if latest is not None and update.at < latest:
                return {"updates": [*doc["updates"], {**entry, "applied": False}]}, []
            if update.status == doc["status"]:
                return {"updates": [*doc["updates"], {**entry, "applied": True}]}, []
            if update.status not in NEXT[doc["status"]]:
                raise exceptions.impossible(doc["status"], update.status, NEXT[doc["status"]])
            return self._apply(doc, update, entry)

        # The shipment's operator never changes, so the re-read after a conflict needs no second check.
        doc, _ = self.store.shipments.change(self._operators_shipment(operator_id, sid), record, dispatch=self.dispatch)
        return self._view(doc)

    def _apply(self, doc: dict, update: OperatorUpdate, entry: dict) -> tuple[dict, list]:
        changes: dict[str, Any] = {"status": update.status, "updates": [*doc["updates"], {**entry, "applied": True}]}
        events = []
        base = {
            "shipment_id": doc["_id"],
            "kind": doc["kind"],
            "dossier_code": doc.get("dossier_code"),
            "operator_id": doc["operator_id"],
            "at": update.at,
        }
        if update.status == "delivered":
            if update.proof is None:
                raise catalogue.error("proof_required")
            late = bool(doc.get("due_at") and update.at > doc["due_at"])
            changes.update(delivered_at=update.at, proof=update.proof.model_dump(), late=late)
            events.append(
                new_event(
                    ShipmentDelivered(**base, late=late, due_at=doc.get("due_at")),
                    SYSTEM,
                    dossier_code=doc.get("dossier_code"),
                )
            )
        if update.status == "lost":
            compensation = {
                "fees_vnd": doc.get("fee_vnd", 0),
                "costs_vnd": update.costs_vnd or 0,
                "status": "open",
                "opened_at": utcnow(),
                "redo_requested": doc["kind"] == "return" and bool(doc.get("dossier_code")),
            }
            changes["compensation"] = compensation
            events.append(
                new_event(ShipmentLost(**base, compensation=compensation), SYSTEM, dossier_code=doc.get("dossier_code"))
            )
        return changes, events

    # --------------------------------------------------------------- return
    @handles(CaseStatusChanged)
    def create_return(self, event: Event[CaseStatusChanged]) -> None:
        """R29: a result ready for postal delivery gets a return shipment, due within 24 hours in the province."""
        p = event.payload
        if p.action != "mark_result_ready" or p.delivery_method != "post":
            return
        ready = utcnow()
        in_province = p.delivery_province_code == self.settings.province_code
        hours = 24 if in_province else self.settings.out_of_province_return_hours
        sid = f"RT-{p.code}"
        doc = {
            "id": sid,
            "kind": "return",
            "operator_id": self._operator(),
            "status": "requested",
            "account_id": p.applicant_id,
            "dossier_code": p.code,
            "procedure_code": p.procedure_code,
            "address": {"line": p.delivery_address or "", "province_code": p.delivery_province_code},
            "ready_at": ready,
            "due_at": ready + timedelta(hours=hours),
            "in_province": in_province,
            "fee_vnd": p.fee_vnd,
            "updates": [],
            "created_at": ready,
        }
        self.store.shipments.create(sid, doc, [])

    @rpc
    def return_stats(self, actor: dict) -> dict:
        """Returns delivered within the norm vs late, open and overdue (for the operator office)."""
        if Actor.model_validate(actor).role != "operator":
            raise catalogue.error("forbidden_role", None, "Chỉ Văn phòng UBND tỉnh xem được thống kê bưu chính")
        now = utcnow()
        stats = {"returns": 0, "delivered_on_time": 0, "delivered_late": 0, "open": 0, "open_overdue": 0, "lost": 0}
        for d in self.store.shipments.find({"kind": "return"}):
            stats["returns"] += 1
            if d["status"] == "delivered":
                stats["delivered_late" if d.get("late") else "delivered_on_time"] += 1
            elif d["status"] == "lost":
                stats["lost"] += 1
            elif d["status"] in OPEN:
                stats["open"] += 1
                stats["open_overdue"] += int(d["due_at"] < now)
        return dump(ReturnStats(**stats))

    @rpc
    def compensations(self, actor: dict) -> list[dict]:
        if Actor.model_validate(actor).role != "operator":
            raise catalogue.error("forbidden_role", None, "Chỉ Văn phòng UBND tỉnh xem được")
        return [self._view(d) for d in self.store.shipments.find({"status": "lost"})]
