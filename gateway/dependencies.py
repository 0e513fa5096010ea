"""The gateway's own state (portal_gateway database): revoked tokens and
rate-limit counters — and the token logic built on it."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError
from werkzeug.wrappers import Request

from services.common import error_catalogue as catalogue
from services.common.clock import wall_now

from .rpc import JsonDict
from .settings import GatewaySettings


class GatewayStore:
    def __init__(self, db: Database[JsonDict]):
        self.db = db

    def revoke(self, jti: str, expires_at: datetime) -> None:
        self.db.revoked_tokens.replace_one({"_id": jti}, {"_id": jti, "expires_at": expires_at}, upsert=True)

    def is_revoked(self, jti: str) -> bool:
        return self.db.revoked_tokens.find_one({"_id": jti}, {"_id": 1}) is not None

    @staticmethod
    def _window(window_seconds: int) -> tuple[int, int]:
        now = int(wall_now().timestamp())
        return now - now % window_seconds, now

    def count(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Attempts counted in the current fixed window; (count, seconds left)."""
        start, now = self._window(window_seconds)
        return self.db.rate_limits.count_documents({"key": key, "window": start}), start + window_seconds - now

    def hit(self, key: str, window_seconds: int) -> None:
        """Record one attempt. One insert per attempt, because concurrent ``$inc``
        on one counter document can lose increments on FerretDB."""
        start, _ = self._window(window_seconds)
        self.db.rate_limits.insert_one(
            {
                "_id": str(uuid.uuid4()),
                "key": key,
                "window": start,
                "expires_at": datetime.fromtimestamp(start + window_seconds, UTC),
            }
        )

    # ------------------------------------------------------------ incidents (R24)
    def service_down_since(self, service: str, now: datetime) -> datetime:
        """When the service was first seen down in this outage (kept across gateway replicas)."""
        try:
            self.db.service_watch.insert_one({"_id": service, "since": now})
            return now
        except DuplicateKeyError:
            since: datetime = (self.db.service_watch.find_one({"_id": service}) or {"since": now})["since"]
            return since

    def open_incident(self, service: str, since: datetime, detail: str | None) -> bool:
        """True for the one caller that opened it (an insert; replicas race harmlessly)."""
        try:
            self.db.incidents.insert_one({"_id": service, "since": since, "detail": detail})
            return True
        except DuplicateKeyError:
            return False

    def close_incident(self, service: str) -> JsonDict | None:
        """The incident this caller closed, if any; the outage watch ends either way."""
        self.db.service_watch.delete_one({"_id": service})
        incident = self.db.incidents.find_one({"_id": service})
        if incident and self.db.incidents.delete_one({"_id": service}).deleted_count:
            return incident
        return None

    def ping(self) -> None:
        """Raises when the database does not answer (the health check)."""
        self.db.command("ping")

    def first_postal_nonce(self, key: str, nonce: str, expires_at: datetime) -> bool:
        """Whether this operator's nonce is seen for the first time (a replay is refused)."""
        try:
            self.db.postal_nonces.insert_one({"_id": f"{key}:{nonce}", "expires_at": expires_at})
            return True
        except DuplicateKeyError:
            return False

    def purge_expired(self) -> None:
        now = wall_now()
        self.db.revoked_tokens.delete_many({"expires_at": {"$lt": now}})
        self.db.rate_limits.delete_many({"expires_at": {"$lt": now}})
        self.db.postal_nonces.delete_many({"expires_at": {"$lt": now}})


class TokenAuth:
    """Signed (HS256), expiring bearer tokens; logout revokes by token id."""

    ISSUER = "portal-gateway"

    def __init__(self, settings: GatewaySettings, store: GatewayStore):
        self.secret = settings.token_secret
        self.ttl = settings.token_ttl_seconds
        self.store = store
        # Failed sign-ins allowed per window: per login name (guessing one
        # account) and per client address (spraying many accounts).
        self.limits = {"id": settings.login_max_attempts, "ip": settings.login_max_attempts_per_ip}
        self.login_window = settings.login_window_seconds

    def issue(self, account: JsonDict) -> JsonDict:
        now = wall_now()  # PyJWT checks exp against the system clock
        exp = now + timedelta(seconds=self.ttl)
        claims = {
            "sub": account["id"],
            "role": account["role"],
            "agency_id": account.get("agency_id"),
            "department_id": account.get("department_id"),
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": exp,
            "iss": self.ISSUER,
        }
        token = jwt.encode(claims, self.secret, algorithm="HS256")
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl, "expires_at": exp.isoformat()}

    def verify(self, request: Request) -> JsonDict:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            raise catalogue.error("auth_required", None, "Cần đăng nhập (thiếu Bearer token)")
        return self.verify_token(header[7:].strip())

    def verify_token(self, token: str) -> JsonDict:
        """Claims of a token (bearer header or the web portal's session cookie)."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                issuer=self.ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise catalogue.error("token_expired") from None
        except jwt.InvalidTokenError:
            raise catalogue.error("invalid_token") from None
        if self.store.is_revoked(claims["jti"]):
            raise catalogue.error("token_revoked")
        return claims

    def revoke(self, claims: JsonDict) -> None:
        self.store.revoke(claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))

    def check_login_allowed(self, subject: str, ip: str) -> None:
        """Refuse before checking the password once too many attempts failed on this account (or
        unknown login name) or from this address."""
        for kind, value in (("id", subject), ("ip", ip)):
            count, retry_after = self.store.count(f"login:{kind}:{value}", self.login_window)
            if count >= self.limits[kind]:
                raise catalogue.error("too_many_login_attempts", {"retry_after_seconds": max(1, retry_after)})

    def record_failed_login(self, subject: str, ip: str) -> None:
        for kind, value in (("id", subject), ("ip", ip)):
            self.store.hit(f"login:{kind}:{value}", self.login_window)


class PostalAuth:
    """The postal operator's own credentials: an API key and an HMAC-SHA256 signature over
    ``METHOD\nPATH\nTIMESTAMP\nNONCE\nsha256(body)``. Valid only on the operator's routes; each
    nonce is accepted once (replays refused), within ``POSTAL_CLOCK_SKEW_SECONDS`` of now."""

    def __init__(self, settings: GatewaySettings, store: GatewayStore):
        self.operators: dict[str, tuple[str, str]] = {}  # API key: (operator id, HMAC secret)
        for entry in settings.postal_operators.split(","):
            if entry.count(":") >= 2:
                operator_id, key, secret = entry.strip().split(":", 2)
                self.operators[key] = (operator_id, secret)
        self.skew = settings.postal_clock_skew_seconds
        self.store = store

    @staticmethod
    def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
        message = "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])
        return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()

    def verify(self, request: Request) -> str:
        key = request.headers.get("X-Postal-Key", "")
        if key not in self.operators:
            raise catalogue.error("invalid_postal_key")
        operator_id, secret = self.operators[key]
        timestamp = request.headers.get("X-Postal-Timestamp", "")
        nonce = request.headers.get("X-Postal-Nonce", "")
        given = request.headers.get("X-Postal-Signature", "")
        if not 8 <= len(nonce) <= 100:
            raise catalogue.error("invalid_postal_signature", None, "Thiếu X-Postal-Nonce (8–100 ký tự)")
        if not timestamp.isdigit() or abs(wall_now().timestamp() - int(timestamp)) > self.skew:
            raise catalogue.error("stale_postal_request")
        expected = self.signature(secret, request.method, request.path, timestamp, nonce, request.get_data(cache=True))
        if not hmac.compare_digest(given, expected):
            raise catalogue.error("invalid_postal_signature")
        if not self.store.first_postal_nonce(key, nonce, datetime.fromtimestamp(int(timestamp) + self.skew, UTC)):
            raise catalogue.error("replayed_postal_request")
        return operator_id
