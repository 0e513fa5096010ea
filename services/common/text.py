"""Vietnamese text folded for search: no diacritics, no case ("Giấy phép lái xe" and "giay phep
lai xe" are the same key), so people find things however they type; stored beside the text it
comes from, so a search reads one field."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Lower case, without diacritics (đ → d), whitespace collapsed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare).strip().lower()


def search_key(*parts: str | None) -> str:
    """The folded text of several fields, one search key."""
    return " | ".join(fold(p) for p in parts if p)


def words_regex(query: str) -> list[dict]:
    """Filters that each folded word of ``query`` appears in ``search_text`` (in any order)."""
    return [{"search_text": {"$regex": re.escape(word)}} for word in fold(query).split(" ") if word]
