"""Intake (tiếp nhận): catalog of procedures, accounts, dossiers as filed, attachments."""
