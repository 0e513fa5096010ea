"""IntakeStore: the intake service's database behind a small domain API.

Everything is keyed by ``_id`` (FerretDB on SQLite only indexes ``_id``):
procedures by code, versions by ``code@version``, dossiers by dossier code,
uniqueness claims by ``email:…`` / ``nid:…`` / ``tax:…``, idempotency keys by
``account:key``, attachment chunks by ``attachment_id:n``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common.events import utcnow
from services.common.files import ChunkStore
from services.common.text import fold, search_key
from services.common.versioned import VersionedDocuments


def _encode_procedure(doc: dict) -> dict:
    """JSON Schemas use keys like ``$schema`` and ``$ref`` that MongoDB-wire
    servers refuse as field names (FerretDB always, MongoDB in places), so the
    eForm schema is stored as a JSON string."""
    doc = dict(doc)
    schema = doc.pop("eform_schema", None)
    doc["eform_schema_json"] = json.dumps(schema, ensure_ascii=False) if schema is not None else None
    doc["search_text"] = _search_text(doc)
    return doc


def _search_text(doc: dict) -> str:
    return search_key(doc.get("code"), doc.get("name"), doc.get("description"), doc.get("sector"), doc.get("field"))


def _decode_procedure(doc: dict | None) -> dict | None:
    if doc is None:
        return None
    doc.pop("search_text", None)  # the store's search key, not part of the procedure
    raw = doc.pop("eform_schema_json", None)
    doc["eform_schema"] = json.loads(raw) if raw else None
    return doc


class IntakeStore:
    def __init__(self, db: Database):
        self.db = db
        self.procedures = db.procedures
        self.versions = db.procedure_versions
        self.agencies = db.agencies
        self.accounts = VersionedDocuments(db, "accounts")
        self.keys = db.account_keys
        self.dossiers = VersionedDocuments(db, "dossiers")
        self.files = ChunkStore(db.attachment_chunks)
        self.idempotency = db.idempotency_keys
        self.templates = db.form_templates
        self.staged = db.supplement_staging

    @staticmethod
    def ensure_indexes(db: Database) -> None:
        # Secondary indexes for listing; lookups that must be fast go by _id.
        db.dossiers.create_index([("applicant_id", 1), ("submitted_at", -1)])
        db.procedures.create_index([("sector", 1), ("field", 1)])
        db.procedures.create_index([("search_text", 1)])
        for doc in db.procedures.find(
            {"search_text": {"$exists": False}},
            {"_id": 1, "code": 1, "name": 1, "description": 1, "sector": 1, "field": 1},
        ):
            db.procedures.update_one({"_id": doc["_id"]}, {"$set": {"search_text": _search_text(doc)}})
        VersionedDocuments.ensure_indexes(db, "dossiers")
        VersionedDocuments.ensure_indexes(db, "accounts")

    # --------------------------------------------------------- agencies
    def upsert_agency(self, agency: dict) -> None:
        self.agencies.replace_one({"_id": agency["id"]}, {"_id": agency["id"], **agency}, upsert=True)

    def agency(self, agency_id: str) -> dict | None:
        return self.agencies.find_one({"_id": agency_id}, {"_id": 0})

    def list_agencies(self) -> list[dict]:
        return list(self.agencies.find({}, {"_id": 0}).sort("id", 1))

    # ------------------------------------------------------- procedures
    def current_procedure(self, code: str) -> dict | None:
        return _decode_procedure(self.procedures.find_one({"_id": code}, {"_id": 0}))

    def procedure_version(self, code: str, version: int) -> dict | None:
        return _decode_procedure(self.versions.find_one({"_id": f"{code}@{version}"}, {"_id": 0}))

    def publish_version(self, procedure: dict) -> dict:
        """Store a new immutable version and make it current.

        The version number is claimed by inserting ``code@version``; a
        concurrent publisher gets a duplicate and retries with the next number.
        """
        while True:
            current = self.current_procedure(procedure["code"])
            version = (current["version"] + 1) if current else 1
            doc = {**procedure, "version": version, "published_at": utcnow()}
            stored = _encode_procedure(doc)
            try:
                self.versions.insert_one({"_id": f"{procedure['code']}@{version}", **stored})
            except DuplicateKeyError:
                continue
            self.procedures.replace_one({"_id": procedure["code"]}, {"_id": procedure["code"], **stored}, upsert=True)
            self.catalog_changed()
            return doc

    # The catalog is read on every page and searched as people type, and changes a few times a day: each
    # process keeps it in memory, checked against the database's token on every read (one read by _id),
    # so every replica reloads as soon as any of them publishes. FerretDB would otherwise decode every
    # procedure for each search (2–3 s at 2,000 procedures).
    _catalog: dict[str, tuple[str, list[tuple[str, dict]]]] = {}  # database name → (token, rows)

    def catalog_changed(self) -> None:
        self.db.catalog_meta.replace_one({"_id": "token"}, {"_id": "token", "token": uuid.uuid4().hex}, upsert=True)

    def catalog(self) -> list[tuple[str, dict]]:
        """Every current procedure with its folded search key, in catalog order (cached per process,
        always as fresh as the database)."""
        token = (self.db.catalog_meta.find_one({"_id": "token"}) or {}).get("token")
        cached_token, rows = IntakeStore._catalog.get(self.db.name, (None, []))
        if token is None or token != cached_token:
            procedures = [_decode_procedure(d) for d in self.procedures.find({}, {"_id": 0})]
            rows = sorted(((_search_text(p), p) for p in procedures), key=lambda r: (r[1]["sector"], r[1]["code"]))
            if token is None:  # a catalog written before tokens existed: give it one
                self.catalog_changed()
                token = (self.db.catalog_meta.find_one({"_id": "token"}) or {}).get("token")
            IntakeStore._catalog[self.db.name] = (token, rows)
        return rows

    def search_procedures(self, query: dict, skip: int, limit: int) -> tuple[list[dict], int]:
        """Search as people type: every folded word in the procedure's code, name, description, sector
        or field ("giay phep lai xe" finds "Giấy phép lái xe"), filtered by sector, field, agency, level."""
        words = fold(query.get("q") or "").split()
        wanted = {
            field: query[key]
            for key, field in (("sector", "sector"), ("field", "field"), ("agency", "agency_id"), ("level", "level"))
            if query.get(key) is not None
        }
        found = [
            p
            for key, p in self.catalog()
            if all(p.get(f) == v for f, v in wanted.items()) and all(w in key for w in words)
        ]
        return [dict(p) for p in found[skip : skip + limit]], len(found)

    def facets(self) -> dict:
        """Sectors, fields and every procedure's code and name (filters, a procedure chosen by name)."""
        rows = [p for _, p in self.catalog()]
        return {
            "sectors": sorted({r["sector"] for r in rows}),
            "fields": sorted({r["field"] for r in rows}),
            "procedures": sorted(
                ({k: r[k] for k in ("code", "name", "sector", "level", "agency_id")} for r in rows),
                key=lambda r: (r["sector"], r["name"]),
            ),
        }

    # --------------------------------------------------------- accounts
    ORPHAN_CLAIM_SECONDS = 60

    def claim_keys(self, account_id: str, keys: Iterable[str]) -> list[str]:
        """Claim unique identifiers for an account; return the ones already taken.

        A claim is an insert (atomic everywhere). One left behind by a crash before
        its account was written is reclaimed once it is clearly stale — never while
        another registration may still be writing its account.
        """
        taken, claimed = [], []
        for key in keys:
            if self._insert_claim(key, account_id):
                claimed.append(key)
                continue
            owner = self.keys.find_one({"_id": key}) or {}
            age = (utcnow() - owner["at"]).total_seconds() if owner.get("at") else 0
            if owner and age > self.ORPHAN_CLAIM_SECONDS and self.accounts.get(owner["account_id"]) is None:
                self.keys.delete_one({"_id": key})
                if self._insert_claim(key, account_id):
                    claimed.append(key)
                    continue
            taken.append(key)
        if taken:
            for key in claimed:
                self.keys.delete_one({"_id": key})
        return taken

    def _insert_claim(self, key: str, account_id: str) -> bool:
        try:
            self.keys.insert_one({"_id": key, "account_id": account_id, "at": utcnow()})
            return True
        except DuplicateKeyError:
            return False

    def account(self, account_id: str) -> dict | None:
        return self.accounts.get(account_id)

    def account_id_by_key(self, key: str) -> str | None:
        claim = self.keys.find_one({"_id": key})
        return claim["account_id"] if claim else None

    def account_by_key(self, key: str) -> dict | None:
        account_id = self.account_id_by_key(key)
        return self.account(account_id) if account_id else None

    # -------------------------------------------------------- dossiers
    def claim_idempotency(self, scope_key: str, request_hash: str, dossier_code: str) -> dict:
        """Return the record for this key: ours if new, the earlier one if replayed."""
        record = {"_id": scope_key, "request_hash": request_hash, "dossier_code": dossier_code, "created_at": utcnow()}
        try:
            self.idempotency.insert_one(record)
            return record
        except DuplicateKeyError:
            return self.idempotency.find_one({"_id": scope_key})

    def put_template(self, code: str, document_code: str, meta: dict) -> None:
        """The current template of one form (biểu mẫu) of a procedure; replaced on upload."""
        key = f"{code}:{document_code}"
        self.templates.replace_one({"_id": key}, {"_id": key, **meta}, upsert=True)

    def template(self, code: str, document_code: str) -> dict | None:
        return self.templates.find_one({"_id": f"{code}:{document_code}"})

    def dossier(self, code: str) -> dict | None:
        return self.dossiers.get(code)

    # ------------------------------------------------------ supplements
    def stage_supplement(self, staged: dict) -> None:
        self.staged.insert_one(staged)

    def staged_supplement(self, staging_id: str) -> dict | None:
        return self.staged.find_one({"_id": staging_id})

    def mark_supplement_committed(self, staging_id: str) -> None:
        self.staged.update_one({"_id": staging_id}, {"$set": {"committed": True}})

    def list_dossiers(self, applicant_id: str, skip: int, limit: int) -> tuple[list[dict], int]:
        filt = {"applicant_id": applicant_id}
        total = self.dossiers.docs.count_documents(filt)
        cursor = self.dossiers.docs.find(filt, {"form_data": 0}).sort("submitted_at", -1).skip(skip).limit(limit)
        return list(cursor), total
