"""OpenAPI 3.1 document generated from the route declarations and pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .api import ROUTES, RouteSpec
from .schemas import ErrorEnvelope, Health

REF = "#/components/schemas/{model}"
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Malformed request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid data",
    429: "Too many requests",
    503: "Service unavailable",
}


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(spec: RouteSpec) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": spec.summary,
        "tags": [spec.tag],
        "operationId": f"{spec.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', spec.path.lower()).strip('_')}",
        # who may call it and whose object the path names (gateway.api.route)
        "x-auth": list(spec.auth) if isinstance(spec.auth, tuple) else spec.auth,
        "x-scope": list(spec.scope),
    }
    path_names = re.findall(r"\{(\w+)\}", spec.path)
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in path_names]
    if spec.query:
        schema = spec.query.model_json_schema(ref_template=REF)
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop})
    for header in spec.headers:
        params.append({"name": header, "in": "header", "required": False, "schema": {"type": "string"}})
    if params:
        op["parameters"] = params
    if spec.body is not None or spec.multipart:
        content = {}
        if spec.body is not None:
            content["application/json"] = {"schema": _ref(spec.body)}
            if spec.example is not None:
                content["application/json"]["example"] = spec.example
        if spec.multipart:
            content["multipart/form-data"] = {"schema": spec.multipart}
        op["requestBody"] = {"required": True, "content": content}
    ok: dict[str, Any] = {"description": STATUS_TEXT.get(spec.status, "OK")}
    if spec.binary:
        ok["content"] = {spec.binary: {"schema": {"type": "string", "format": "binary"}}}
    elif spec.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(spec.response)}}
    responses = {str(spec.status): ok}
    errors = set(spec.errors) | {400, 503}
    if path_names:
        errors |= {404}
    if spec.body is not None or spec.multipart:
        errors |= {413, 415}  # over MAX_BODY_BYTES; not application/json (or multipart)
    if spec.auth == "postal":
        errors |= {401}
        op["security"] = [{"postalKey": [], "postalSignature": []}]
    elif spec.auth != "public":
        errors |= {401}
        op["security"] = [{"bearer": []}]
        if spec.auth != "user":
            errors |= {403}
            op["description"] = "Roles: " + ", ".join(spec.auth)
    if spec.body is not None or spec.query is not None:
        errors |= {422}
    for code in sorted(errors):
        responses[str(code)] = {
            "description": STATUS_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": _ref(ErrorEnvelope)}},
        }
    if spec.busy:
        responses["503"]["description"] = (
            "Service unavailable, or `service_busy`: enough filings are in flight "
            "already; send the same request (same Idempotency-Key) again after "
            "Retry-After seconds (also in details.retry_after_seconds)"
        )
        responses["503"]["headers"] = {
            "Retry-After": {
                "description": "seconds to wait before sending again (service_busy only)",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    op["responses"] = responses
    return op


def build_openapi(title: str = "Cổng dịch vụ công trực tuyến — API", version: str = "1.0.0") -> dict:
    models: set[type[BaseModel]] = {ErrorEnvelope, Health}
    for spec in ROUTES:
        for m in (spec.body, spec.response):
            if m is not None:
                models.add(m)
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    paths: dict[str, dict] = {}
    for spec in ROUTES:
        for method in spec.method.split(","):
            paths.setdefault(spec.path, {})[method.lower()] = _operation(spec)
    paths["/health"] = {
        "get": {
            "summary": "Liveness and reachability of broker, database and each service",
            "tags": ["meta"],
            "operationId": "get_health",
            "responses": {
                "200": {"description": "all reachable", "content": {"application/json": {"schema": _ref(Health)}}},
                "503": {"description": "something is down", "content": {"application/json": {"schema": _ref(Health)}}},
            },
        }
    }
    paths["/api/v1/openapi.json"] = {
        "get": {
            "summary": "This document",
            "tags": ["meta"],
            "operationId": "get_openapi",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1 document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "REST JSON API of the provincial online public-service portal. Every error is "
            '`{"error": {"code", "message", "details"}}`.',
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "postalKey": {"type": "apiKey", "in": "header", "name": "X-Postal-Key"},
                "postalSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Postal-Signature",
                    "description": "hex HMAC-SHA256 of METHOD\\nPATH\\nX-Postal-Timestamp"
                    "\\nX-Postal-Nonce\\nsha256(body)",
                },
            },
        },
    }
