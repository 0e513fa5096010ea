"""Who acts in the portal: the role tuples, each declared once, and the actor every RPC takes.

Two sets of officials are meant in different places, so they have different names:
``AGENCY_OFFICIALS`` work for one agency and see only its objects; ``OFFICIALS`` adds the
province office (``operator``, Văn phòng UBND tỉnh), which sees every agency's. Routes and pages
for "any official" admit ``OFFICIALS``; a service deciding whether an official's agency matches
tests ``AGENCY_OFFICIALS`` and treats the operator on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CITIZEN = ("citizen",)
#: the officials' roles that can act in a workflow stage (services/common/workflows.py)
WORKFLOW_ROLES = ("reception", "specialist", "leader")
#: officials of one agency (their accounts carry its agency_id)
AGENCY_OFFICIALS = (*WORKFLOW_ROLES, "agency_admin")
#: the province office (Văn phòng UBND tỉnh): every agency, the province's reports and operations
PROVINCE_OFFICE = ("operator",)
#: everyone who works on the officials' side of the portal
OFFICIALS = (*AGENCY_OFFICIALS, *PROVINCE_OFFICE)

#: an actor as it travels in an RPC (validated on arrival by services.common.events.Actor):
#: id, role, agency_id, department_id
ActorDict = dict[str, Any]


def actor_from_claims(claims: Mapping[str, Any]) -> ActorDict:
    """The actor a verified bearer token speaks for (its claims: gateway.dependencies.TokenAuth.issue)."""
    return {
        "id": claims["sub"],
        "role": claims["role"],
        "agency_id": claims.get("agency_id"),
        "department_id": claims.get("department_id"),
    }
