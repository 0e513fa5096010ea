"""The role tuples are declared once (services/common/roles.py) and the actor is built from token
claims in one place (issue #16): two modules that each spelled the officials out had drifted apart."""

import ast

from services.common import roles
from services.common.config import ROOT

DECLARED = {name: getattr(roles, name) for name in ("WORKFLOW_ROLES", "AGENCY_OFFICIALS", "OFFICIALS")}


def test_the_two_sets_of_officials_differ_by_the_province_office_only():
    assert roles.OFFICIALS == (*roles.AGENCY_OFFICIALS, *roles.PROVINCE_OFFICE)
    assert "operator" not in roles.AGENCY_OFFICIALS and set(roles.WORKFLOW_ROLES) < set(roles.AGENCY_OFFICIALS)


def test_no_module_spells_a_declared_role_set_out_again():
    again = []
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("gateway/**/*.py"), *ROOT.glob("contracts/**/*.py")]:
        if path == ROOT / "services/common/roles.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Literal["reception", …] in a payload model is a type (an enum in the OpenAPI), not a tuple to share.
        types = {id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript)}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Tuple)
                and id(node) not in types
                and all(isinstance(e, ast.Constant) for e in node.elts)
            ):
                values = {e.value for e in node.elts}
                again += [
                    f"{path.relative_to(ROOT)}:{node.lineno} is {name}"
                    for name, declared in DECLARED.items()
                    if values == set(declared)
                ]
    assert again == []


def test_the_actor_of_a_token():
    claims = {
        "sub": "off-1",
        "role": "specialist",
        "agency_id": "STP",
        "department_id": "STP-HT",
        "jti": "x",
        "exp": 1,
        "iat": 0,
        "iss": "portal",
    }
    assert roles.actor_from_claims(claims) == {
        "id": "off-1",
        "role": "specialist",
        "agency_id": "STP",
        "department_id": "STP-HT",
    }
    assert roles.actor_from_claims({"sub": "c-1", "role": "citizen"}) == {
        "id": "c-1",
        "role": "citizen",
        "agency_id": None,
        "department_id": None,
    }
