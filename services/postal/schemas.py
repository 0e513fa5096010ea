"""The postal service's own rules about its payloads (the payloads themselves: contracts.postal)."""

from __future__ import annotations

# Which status may follow which (a shipment's legs).
NEXT: dict[str, tuple[str, ...]] = {
    "requested": ("picked_up", "lost"),
    "picked_up": ("in_transit", "delivered", "lost"),
    "in_transit": ("delivered", "failed_attempt", "returned_to_sender", "lost"),
    "failed_attempt": ("in_transit", "delivered", "returned_to_sender", "lost"),
    "delivered": (),
    "returned_to_sender": (),
    "lost": (),
}
