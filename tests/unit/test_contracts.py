"""The HTTP contract is written once, in contracts/ (or, for what only HTTP has, gateway/schemas.py):
the gateway never imports a service's own schemas module, and no model of a route comes from a
service's own package (issue #16). services/common (the workflow definition) is shared by all."""

import ast
from typing import get_args

from pydantic import BaseModel

import gateway.service  # noqa: F401  (registers the routes)
from gateway.api import ROUTES
from services.common.config import ROOT


def _imported_modules(path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def test_the_gateway_imports_no_services_schemas_module():
    offending = []
    for path in ROOT.glob("gateway/**/*.py"):
        for line, module in _imported_modules(path):
            parts = module.split(".")
            if parts[0] == "services" and len(parts) > 2 and parts[1] != "common" and parts[2] == "schemas":
                offending.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offending == []


def _models(annotation, seen: set) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for f in annotation.model_fields.values():
            _models(f.annotation, seen)
    for arg in get_args(annotation):
        _models(arg, seen)


def test_no_route_model_comes_from_a_services_own_package():
    models: set = set()
    for spec in ROUTES:
        for model in (spec.body, spec.query, spec.response):
            _models(model, models)
    assert len(models) > 60, "the walk found too few models: is it still following the fields?"
    elsewhere = sorted(
        f"{m.__module__}.{m.__name__}"
        for m in models
        if not m.__module__.startswith(("contracts.", "gateway.", "services.common."))
    )
    assert elsewhere == []
