"""The gateway by area (issue #16): GatewayService is its areas' mixins and nothing else, no area
hides another's member (a route or page of the same name would silently lose its entrypoint), and
each area's API routes are for its audience."""

import inspect

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from gateway.api import ROUTES, ApiHandler
from gateway.core import GatewayCore
from gateway.service import GatewayService
from services.common.roles import PROVINCE_OFFICE

AREAS = [c for c in GatewayService.__mro__ if c.__module__.startswith("gateway.areas.")]


def entrypoints(members) -> set[tuple[str, str, str]]:
    return {
        (type(e).__name__, getattr(e, "method", ""), getattr(e, "url", ""))
        for attr in members
        for e in getattr(attr, ENTRYPOINT_EXTENSIONS_ATTR, ())
    }


def test_the_service_is_its_areas():
    assert set(GatewayService.__bases__) == set(AREAS) and len(AREAS) == 7
    assert all(issubclass(area, GatewayCore) for area in AREAS)
    own = {k for k in vars(GatewayService) if not k.startswith("__")}
    assert own == {"name"}, "entrypoints and helpers belong in an area (gateway/areas/) or in gateway/core.py"
    assert entrypoints(vars(GatewayCore).values()) == set()


def test_no_area_hides_another_areas_member():
    seen, clashes = {}, []
    for cls in (*AREAS, GatewayCore):
        for name in vars(cls):
            if not name.startswith("__"):
                if name in seen:
                    clashes.append(f"{name}: {seen[name]} and {cls.__name__}")
                seen[name] = cls.__name__
    assert clashes == []
    by_area = set().union(*(entrypoints(vars(area).values()) for area in AREAS))
    assert entrypoints(m for _, m in inspect.getmembers(GatewayService)) == by_area
    assert len(by_area) > 100


def test_each_areas_routes_are_for_its_audience():
    auth = {(r.method, r.path): r.auth for r in ROUTES}
    audience = {
        "PublicArea": lambda a: a == "public",
        "AccountsArea": lambda a: a in ("public", "user"),
        "CitizensArea": lambda a: a == "user" or "citizen" in a,
        "OfficialsArea": lambda a: (
            a == "user" or (isinstance(a, tuple) and "citizen" not in a and a != PROVINCE_OFFICE)
        ),
        "OperatorArea": lambda a: a == PROVINCE_OFFICE,
        "PostalArea": lambda a: a == "postal",
        "MetaArea": lambda a: False,
    }
    astray = []
    for area in AREAS:
        for e in (e for attr in vars(area).values() for e in getattr(attr, ENTRYPOINT_EXTENSIONS_ATTR, ())):
            if isinstance(e, ApiHandler) and e.url.startswith("/api/v1/") and e.url != "/api/v1/openapi.json":
                declared = auth[(e.method, e.url.replace("<", "{").replace(">", "}"))]
                if not audience[area.__name__](declared):
                    astray.append(f"{e.method} {e.url} ({declared}) in {area.__name__}")
    assert astray == []
