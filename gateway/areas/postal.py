"""The postal operator's endpoint (/api/v1/postal/operator/*): its own credentials, every request
HMAC-signed (gateway.dependencies.PostalAuth); it sees and updates only the shipments assigned to it."""

from __future__ import annotations

from contracts.postal import FileOnBehalf, OperatorUpdate, Shipment, ShipmentPage, ShipmentQuery

from ..api import Ctx, route
from ..core import GatewayCore
from ..schemas import FiledOnBehalf


class PostalArea(GatewayCore):
    """Routes the postal operator calls (auth "postal")."""

    @route(
        "GET",
        "/api/v1/postal/operator/shipments",
        summary="[Bưu chính] Bưu gửi của doanh nghiệp",
        tag="postal",
        auth="postal",
        query=ShipmentQuery,
        response=ShipmentPage,
        scope=(),
    )
    def operator_shipments(self, ctx: Ctx):
        return self.postal.operator_shipments(ctx.actor["id"], ctx.query.model_dump(exclude_none=True))

    @route(
        "POST",
        "/api/v1/postal/operator/shipments/{shipment_id}/dossier",
        summary="[Bưu chính] Nộp hồ sơ đã thu gom thay công dân",
        tag="postal",
        auth="postal",
        body=FileOnBehalf,
        response=FiledOnBehalf,
        status=201,
        errors=(404, 409, 413, 415),
        scope=(),
    )
    def operator_file(self, ctx: Ctx):
        return self.postal.operator_file(ctx.actor["id"], ctx.path["shipment_id"], ctx.body.model_dump(mode="json"))

    @route(
        "POST",
        "/api/v1/postal/operator/shipments/{shipment_id}/updates",
        summary="[Bưu chính] Cập nhật trạng thái (theo mã sự kiện của doanh nghiệp), bằng chứng giao",
        tag="postal",
        auth="postal",
        body=OperatorUpdate,
        response=Shipment,
        errors=(404, 409),
        scope=(),
    )
    def operator_update(self, ctx: Ctx):
        return self.postal.operator_update(ctx.actor["id"], ctx.path["shipment_id"], ctx.body.model_dump(mode="json"))
