"""HTTP gateway: the only door for people (REST JSON API under /api/v1)."""
