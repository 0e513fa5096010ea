"""The payment service's own rules about its payloads (the payloads themselves: contracts.payment)."""

from __future__ import annotations

# A payment in one of these states is settled: a provider's callback no longer changes it.
FINAL = ("succeeded", "failed", "cancelled", "expired")
