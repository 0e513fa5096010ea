"""The province office's own routes (role operator, Văn phòng UBND tỉnh): sweeps run now, the
statistics rebuilt, payment reconciliation and expiry, postal returns and compensations. It also
uses the officials' routes and pages (officials.py), for every agency."""

from __future__ import annotations

from contracts.payment import Reconciliation
from contracts.postal import ReturnStats
from services.common.roles import PROVINCE_OFFICE

from ..api import Ctx, route
from ..core import GatewayCore
from ..schemas import DayQuery, ShipmentList


class OperatorArea(GatewayCore):
    """Routes only the province office may call."""

    # --------------------------------------------------------------- sweeps
    @route(
        "POST",
        "/api/v1/cases/sweep",
        summary="Quét hạn xử lý ngay (đánh dấu sắp đến hạn, quá hạn)",
        tag="cases",
        auth=PROVINCE_OFFICE,
        scope=(),
    )
    def sweep(self, ctx: Ctx):
        return self.processing.sweep()

    @route(
        "POST",
        "/api/v1/operator/feedback/sweep",
        summary="Quét hạn trả lời phản ánh ngay",
        tag="operator",
        auth=PROVINCE_OFFICE,
        scope=(),
    )
    def feedback_sweep(self, ctx: Ctx):
        return self.feedback.sweep()

    # ----------------------------------------------------------- statistics
    @route(
        "POST",
        "/api/v1/operator/statistics/rebuild",
        summary="Dựng lại toàn bộ số liệu từ nhật ký sự kiện",
        tag="operator",
        auth=PROVINCE_OFFICE,
        scope=(),
    )
    def rebuild_statistics(self, ctx: Ctx):
        return self.reporting.rebuild()

    # ------------------------------------------------------------- payments
    @route(
        "GET",
        "/api/v1/operator/reconciliation",
        summary="Đối soát giao dịch với cổng thanh toán",
        tag="operator",
        auth=PROVINCE_OFFICE,
        query=DayQuery,
        response=Reconciliation,
        scope=(),
    )
    def reconciliation(self, ctx: Ctx):
        return self.payment.reconcile(ctx.query.date)

    @route(
        "POST",
        "/api/v1/operator/payments/expire",
        summary="Cho hết hạn ngay các giao dịch quá thời gian",
        tag="operator",
        auth=PROVINCE_OFFICE,
        scope=(),
    )
    def expire_payments(self, ctx: Ctx):
        self.payment.expire_now()
        return {"ok": True}

    # ------------------------------------------------------- postal returns
    @route(
        "GET",
        "/api/v1/operator/postal/returns",
        summary="Trả kết quả qua bưu chính: đúng 24 giờ / trễ",
        tag="operator",
        auth=PROVINCE_OFFICE,
        response=ReturnStats,
        scope=(),
    )
    def postal_stats(self, ctx: Ctx):
        return self.postal.return_stats(ctx.actor)

    @route(
        "GET",
        "/api/v1/operator/postal/compensations",
        summary="Bưu gửi thất lạc và bồi thường",
        tag="operator",
        auth=PROVINCE_OFFICE,
        response=ShipmentList,
        scope=(),
    )
    def compensations(self, ctx: Ctx):
        return self.postal.compensations(ctx.actor)
