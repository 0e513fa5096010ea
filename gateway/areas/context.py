"""Who a route acts for, typed: ``Ctx.actor`` and ``Ctx.claims`` are None only on a "public" route,
and ``route`` sets both before any other route's method runs (the postal operator's routes get an
actor, no claims). The areas read them through these, not through the Optional attributes."""

from __future__ import annotations

from typing import Any

from services.common.roles import ActorDict

from ..api import Ctx


def actor_of(ctx: Ctx) -> ActorDict:
    """The account (or the postal operator) a signed-in route acts for."""
    assert ctx.actor is not None, "a public route has no actor"
    return ctx.actor


def claims_of(ctx: Ctx) -> dict[str, Any]:
    """The verified token's claims of a route for signed-in accounts (to revoke the token)."""
    assert ctx.claims is not None, "only a route for signed-in accounts has claims"
    return ctx.claims
