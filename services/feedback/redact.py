"""Personal data removed before a question is published (R22)."""

from __future__ import annotations

import re

from services.common.personal_data import DOSSIER_CODE, EMAIL, NATIONAL_ID, OLD_ID_CARD, PHONE, TAX_CODE

PATTERNS = [
    (DOSSIER_CODE, "[mã hồ sơ]"),
    (EMAIL, "[email]"),
    (NATIONAL_ID, "[số định danh]"),
    (PHONE, "[số điện thoại]"),
    (OLD_ID_CARD, "[số CMND]"),
    (TAX_CODE, "[mã số]"),
]


def redact(text: str, names: list[str] = ()) -> str:
    for name in sorted((n for n in names if n and len(n) >= 2), key=len, reverse=True):
        text = re.sub(re.escape(name), "[họ tên]", text, flags=re.IGNORECASE)
    for pattern, label in PATTERNS:
        text = pattern.sub(label, text)
    return text
