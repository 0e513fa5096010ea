"""The gateway's RPC facades (gateway/rpc.py) cannot drift from the services (issue #16): every
method a facade lists is an ``@rpc`` of the service it names, with the same parameters in the same
order and the same defaults (a trailing one the gateway never passes may be left out), and sends
exactly that method with its arguments in order. The gateway calls services only through them."""

import ast
import importlib
import inspect

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from gateway.rpc import FACADES, ServiceRpc
from services.common.config import ROOT


def service_class(name: str) -> type:
    module = importlib.import_module(f"services.{name}.service")
    return next(
        c
        for c in vars(module).values()
        if inspect.isclass(c) and c.__module__ == module.__name__ and getattr(c, "name", None) == name
    )


def facade_methods(facade: type[ServiceRpc]) -> dict:
    return {name: fn for name, fn in inspect.getmembers(facade, inspect.isfunction) if not name.startswith("_")}


def test_there_is_a_facade_for_every_service():
    assert set(FACADES) == {p.parent.name for p in ROOT.glob("services/*/service.py")}


@pytest.mark.parametrize("service", sorted(FACADES))
def test_every_facade_method_is_an_rpc_of_its_service_with_its_parameters(service):
    cls = service_class(service)
    for name, method in facade_methods(FACADES[service]).items():
        remote = getattr(cls, name, None)
        assert remote is not None and any(
            isinstance(e, Rpc) for e in getattr(remote, ENTRYPOINT_EXTENSIONS_ATTR, ())
        ), f"{service}.{name} is not an @rpc of {cls.__name__}"
        ours = list(inspect.signature(method).parameters.values())[1:]
        theirs = list(inspect.signature(remote).parameters.values())[1:]
        assert [(p.name, p.default, p.kind) for p in ours] == [
            (p.name, p.default, p.kind) for p in theirs[: len(ours)]
        ], f"{service}.{name}{inspect.signature(method)} differs from {cls.__name__}.{name}{inspect.signature(remote)}"
        left_out = [p.name for p in theirs[len(ours) :] if p.default is inspect.Parameter.empty]
        assert left_out == [], f"{service}.{name} leaves out required parameters {left_out}"


@pytest.mark.parametrize("service", sorted(FACADES))
def test_every_facade_method_sends_itself_with_its_arguments_in_order(service):
    sent = []
    facade = FACADES[service](lambda *call: sent.append(call))
    for name, method in facade_methods(FACADES[service]).items():
        args = tuple(object() for _ in list(inspect.signature(method).parameters)[1:])
        sent.clear()
        getattr(facade, name)(*args)
        assert sent == [(service, name, *args)], f"{service}.{name} sends {sent}"


def test_the_gateway_calls_services_only_through_the_facades():
    """A call spelt with strings, self.call("intake", "get_procedur", …), is what the facades replace."""
    found = []
    for path in ROOT.glob("gateway/**/*.py"):
        if path.name == "rpc.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "call"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in FACADES
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
