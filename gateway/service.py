"""The HTTP gateway, one nameko service: the portal's REST API under /api/v1 and its web pages. Its
entrypoints live in the areas (gateway/areas/), one mixin per audience, and what they share in
gateway/core.py; this class is all of them, as nameko runs one class per service."""

from __future__ import annotations

from .areas.accounts import AccountsArea
from .areas.citizens import CitizensArea
from .areas.meta import MetaArea
from .areas.officials import OfficialsArea
from .areas.operator import OperatorArea
from .areas.postal import PostalArea
from .areas.public import PublicArea


class GatewayService(PublicArea, AccountsArea, CitizensArea, OfficialsArea, OperatorArea, PostalArea, MetaArea):
    name = "gateway"
