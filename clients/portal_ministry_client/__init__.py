"""Client for ministry systems calling the provincial portal over AMQP (R31).

Plain pika, no nameko, no eventlet::

    from portal_ministry_client import MinistryClient, MinistryError

    with MinistryClient("amqp://user:pass@portal-broker:5672/portal", "moj-hotich", secret) as portal:
        filed = portal.file_dossier("HT-2026-000123", request)          # issue = your case number
        status = portal.dossier_status(filed["dossier_code"])
        portal.subscribe()
        for change in portal.status_changes(timeout=30):
            ...
"""

from .client import MinistryClient, MinistryError, PortalTimeout, PortalUnavailable

__all__ = ["MinistryClient", "MinistryError", "PortalTimeout", "PortalUnavailable"]
