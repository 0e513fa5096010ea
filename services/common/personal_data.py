"""What personal data looks like in free text (R22): the one place both the published Q&A
(services/feedback/redact.py, which labels what it removes) and the logs
(services/common/observability.py, which masks it) take their patterns from."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
NATIONAL_ID = re.compile(r"\b\d{12}\b")
OLD_ID_CARD = re.compile(r"\b\d{9}\b")
PHONE = re.compile(r"(?<![\d\w])(\+84|0)[\s.]?\d{2,3}[\s.]?\d{3}[\s.]?\d{3,4}\b")
TAX_CODE = re.compile(r"\b\d{10}(-\d{3})?\b")
DOSSIER_CODE = re.compile(r"\b\d{2}-\d{6}-[0-9A-Z]{8}\b")
