"""Processing workflows declared per procedure (quy trình nội bộ giải quyết thủ tục hành chính).

Each agency declares, for each of its procedures, the ordered stages a dossier goes through,
which roles act at each stage and each stage's time budget in working days — the "phân kỳ
thời gian giải quyết" of Art. 3.2 (R32, R33). The definition is part of the procedure version
(intake checks it when the version is published) and travels with every dossier filed under
that version (processing runs it), so a dossier keeps its version's workflow.

Stages are of five kinds, in this order:

| kind | Vietnamese | what happens there | case statuses |
|---|---|---|---|
| reception | Tiếp nhận | receive, ask for a supplement, refuse | submitted |
| assignment (optional) | Phân công | send to a specialist department | received |
| review | Thẩm định | check, ask co-handling, propose, draft a refusal | in_review |
| approval | Phê duyệt | sign the result or the refusal, or send back | proposed, refusal_drafted |
| result | Trả kết quả | result at the desk, delivered, refusal returned | approved, result_ready, refusal_signed |

The reception stage's budget is the reception deadline (Art. 14.5), counted from submission;
the others are counted from reception and together may not exceed the processing time. A stage
without a budget runs until the case's own due day. Without an assignment stage, reception
names the department when it receives the dossier.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from .roles import WORKFLOW_ROLES
from .schemas import Payload

STAGE_KINDS = ("reception", "assignment", "review", "approval", "result")
OPTIONAL_KINDS = ("assignment",)
KIND_VI = {
    "reception": "Tiếp nhận",
    "assignment": "Phân công",
    "review": "Thẩm định",
    "approval": "Phê duyệt",
    "result": "Trả kết quả",
}
ROLE_VI = {
    "reception": "Bộ phận một cửa",
    "specialist": "Chuyên viên",
    "leader": "Lãnh đạo",
    "agency_admin": "Quản trị cơ quan",
    "operator": "Văn phòng UBND tỉnh",
    "citizen": "Công dân",
    "postal_operator": "Bưu chính",
    "ministry_system": "Hệ thống bộ, ngành",
    "system": "Hệ thống",
}

StageCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class Stage(Payload):
    """One stage of a procedure's processing workflow."""

    code: StageCode
    name: str = Field(min_length=2, max_length=120, description="Vietnamese name officials see, e.g. 'Thẩm định hồ sơ'")
    kind: str = Field(description="reception | assignment | review | approval | result")
    roles: list[str] = Field(
        min_length=1, max_length=3, description="who acts at this stage: reception, specialist, leader"
    )
    days: int | None = Field(
        default=None, ge=0, le=365, description="time budget in working days (None: until the case's due day)"
    )
    cohandling: bool = Field(default=True, description="review stage: other departments/agencies may be asked")


class Workflow(Payload):
    """The ordered stages of a procedure's processing (see the module docstring)."""

    stages: list[Stage] = Field(min_length=1, max_length=10)


def default_workflow() -> dict[str, Any]:
    """Today's workflow, for procedures that declare none: the one-stop desk receives and assigns
    (or a leader assigns), a specialist reviews, a leader signs, the desk returns the result."""
    return {
        "stages": [
            {
                "code": "tiep-nhan",
                "name": "Tiếp nhận hồ sơ",
                "kind": "reception",
                "roles": ["reception"],
                "days": None,
                "cohandling": True,
            },
            {
                "code": "phan-cong",
                "name": "Phân công xử lý",
                "kind": "assignment",
                "roles": ["reception", "leader"],
                "days": None,
                "cohandling": True,
            },
            {
                "code": "tham-dinh",
                "name": "Thẩm định hồ sơ",
                "kind": "review",
                "roles": ["specialist"],
                "days": None,
                "cohandling": True,
            },
            {
                "code": "phe-duyet",
                "name": "Phê duyệt, ký kết quả",
                "kind": "approval",
                "roles": ["leader"],
                "days": None,
                "cohandling": True,
            },
            {
                "code": "tra-ket-qua",
                "name": "Trả kết quả",
                "kind": "result",
                "roles": ["reception"],
                "days": None,
                "cohandling": True,
            },
        ]
    }


def problems(workflow: Workflow, processing_days: int) -> list[dict[str, str]]:
    """What is wrong with a definition, each as {field, problem (a stable code), message}."""
    out: list[dict[str, str]] = []

    def add(field: str, problem: str, message: str) -> None:
        out.append({"field": field, "problem": problem, "message": message})

    kinds = [s.kind for s in workflow.stages]
    for n, stage in enumerate(workflow.stages):
        where = f"workflow.stages.{n}"
        if stage.kind not in STAGE_KINDS:
            add(
                f"{where}.kind",
                "workflow_unknown_stage_kind",
                f"Loại bước '{stage.kind}' không có; chọn một trong: {', '.join(STAGE_KINDS)}",
            )
        for role in stage.roles:
            if role not in WORKFLOW_ROLES:
                add(
                    f"{where}.roles",
                    "workflow_unknown_role",
                    f"Bước '{stage.name}': vai trò '{role}' không có; chọn trong: {', '.join(WORKFLOW_ROLES)}",
                )
        if len(set(stage.roles)) != len(stage.roles):
            add(f"{where}.roles", "workflow_duplicate_role", f"Bước '{stage.name}' ghi một vai trò hai lần")
    codes = [s.code for s in workflow.stages]
    if len(set(codes)) != len(codes):
        add("workflow.stages", "workflow_duplicate_stage", "Mã bước bị trùng")
    for kind in STAGE_KINDS:
        count = kinds.count(kind)
        if count > 1:
            add("workflow.stages", "workflow_duplicate_stage", f"Bước loại '{KIND_VI[kind]}' chỉ được có một")
        elif count == 0 and kind not in OPTIONAL_KINDS:
            problem = "workflow_no_final_stage" if kind == "result" else "workflow_missing_stage"
            add("workflow.stages", problem, f"Quy trình thiếu bước '{KIND_VI[kind]}'")
    known = [k for k in kinds if k in STAGE_KINDS]
    if known != sorted(known, key=STAGE_KINDS.index):
        add(
            "workflow.stages",
            "workflow_stage_order",
            "Các bước phải theo thứ tự: tiếp nhận → (phân công) → thẩm định → phê duyệt → trả kết quả",
        )
    if kinds and kinds[-1] != "result" and "result" in kinds:
        add("workflow.stages", "workflow_no_final_stage", "Bước cuối cùng phải là 'Trả kết quả'")
    budget = sum(s.days or 0 for s in workflow.stages if s.kind != "reception")
    if budget > processing_days:
        add(
            "workflow.stages",
            "workflow_budget_exceeds_processing_time",
            f"Tổng thời gian các bước ({budget} ngày làm việc) vượt thời hạn giải quyết ({processing_days} ngày)",
        )
    for n, stage in enumerate(workflow.stages):
        if stage.kind != "review" and not stage.cohandling:
            add(
                f"workflow.stages.{n}.cohandling",
                "workflow_cohandling_review_only",
                "Chỉ bước thẩm định mới có tuỳ chọn phối hợp",
            )
    return out


def stage_of_kind(workflow: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((s for s in workflow["stages"] if s["kind"] == kind), None)
