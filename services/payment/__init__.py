"""Payment (thanh toán trực tuyến): level-4 fees, refunds, reconciliation."""
