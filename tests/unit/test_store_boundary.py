"""A service reaches its collections only through its store (issue #16): the store's methods name
what is read or written, so a query's shape, its indexes and what FerretDB can push down are
decided in one file per service (``dependencies.py``) and in services/common's storage modules."""

import ast

from services.common.config import ROOT

#: where the collections themselves may be touched
STORAGE_MODULES = ("dependencies.py", "queue_index.py")


def _reaches_past_the_store(node: ast.AST) -> bool:
    """``<x>.db.<anything>`` / ``<x>.db[...]`` and ``<x>.docs.<anything>``: a raw database or collection."""
    if isinstance(node, ast.Attribute | ast.Subscript):
        inner = node.value
        return isinstance(inner, ast.Attribute) and inner.attr in ("db", "docs")
    return False


def test_services_and_gateway_use_their_store_not_its_collections():
    offending = []
    for folder in ("services", "gateway", "ops"):
        for path in sorted((ROOT / folder).glob("**/*.py")):
            relative = path.relative_to(ROOT)
            if path.name in STORAGE_MODULES or relative.parts[:2] == ("services", "common"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if _reaches_past_the_store(node):
                    offending.append(f"{relative}:{node.lineno} {ast.unparse(node)[:80]}")
    assert offending == []


def test_the_boundary_check_sees_a_bypass():
    tree = ast.parse("self.store.db.ratings.find_one({})\nself.store.items.docs.find({})\nx.db['c']\n")
    assert sum(_reaches_past_the_store(n) for n in ast.walk(tree)) == 3
    clean = ast.parse("self.store.rating(code)\nself.store.items.find({})\n")
    assert not any(_reaches_past_the_store(n) for n in ast.walk(clean))
