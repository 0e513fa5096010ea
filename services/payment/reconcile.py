"""Operators' command: the daily reconciliation, printed.

python -m services.payment.reconcile [YYYY-MM-DD]
"""

from __future__ import annotations

import sys

from nameko.standalone.rpc import ServiceRpcProxy

from services.common.config import load_config


def main() -> int:
    day = sys.argv[1] if len(sys.argv) > 1 else None
    config = load_config("payment")
    with ServiceRpcProxy("payment", {"AMQP_URI": config["AMQP_URI"]}, timeout=120) as payment:
        report = payment.reconcile(day)
    print(
        f"Đối soát ngày {report['date']}: {report['portal_payments']} thanh toán, {report['portal_refunds']} "
        f"hoàn phí trên cổng; {report['provider_transactions']} giao dịch của cổng thanh toán"
    )
    for m in report["mismatches"]:
        print(
            f"  ✗ {m['kind']:<20} {m['reference']:<22} portal={m['portal_amount']} "
            f"provider={m['provider_amount']}  {m['detail']}"
        )
    if not report["mismatches"]:
        print("  ✓ khớp hoàn toàn")
    return 1 if report["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
