"""Personal data removed before a question is published (R22)."""
from __future__ import annotations

import re

PATTERNS = [
    (re.compile(r"\b\d{2}-\d{6}-[0-9A-Z]{8}\b"), "[mã hồ sơ]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b\d{12}\b"), "[số định danh]"),
    (re.compile(r"(?<![\d\w])(\+84|0)[\s.]?\d{2,3}[\s.]?\d{3}[\s.]?\d{3,4}\b"), "[số điện thoại]"),
    (re.compile(r"\b\d{9}\b"), "[số CMND]"),
    (re.compile(r"\b\d{10}(-\d{3})?\b"), "[mã số]"),
]


def redact(text: str, names: list[str] = ()) -> str:
    for name in sorted((n for n in names if n and len(n) >= 2), key=len, reverse=True):
        text = re.sub(re.escape(name), "[họ tên]", text, flags=re.IGNORECASE)
    for pattern, label in PATTERNS:
        text = pattern.sub(label, text)
    return text
