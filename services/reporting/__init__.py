"""Reporting (thống kê, báo cáo): read models folded from every service's events, rebuildable."""
