"""``help()`` and ``inspect.signature`` show every resource method's parameters, on the class,
on a client's resource, and on the resource-as-a-call (``client.search``)."""

from __future__ import annotations

import inspect
import pydoc
from typing import Any

import pytest
from tessera_memory import AsyncTessera, Tessera
from tessera_memory._resource import Resource, _Descriptor

CLIENTS = [
    Tessera(api_key="tsk_live_introspection"),
    AsyncTessera(api_key="tsk_live_introspection"),
]


def endpoints(obj: Resource[Any]) -> list[tuple[str, _Descriptor]]:
    """Every endpoint the object's class declares (its own and inherited)."""
    found: dict[str, _Descriptor] = {}
    for cls in reversed(type(obj).__mro__):
        for name, value in vars(cls).items():
            if isinstance(value, _Descriptor):
                found[name] = value
    return sorted(found.items())


def surfaces(client: Tessera | AsyncTessera) -> list[Resource[Any]]:
    names = ["memories", "search", "query", "procedures", "resources", "maintenance", "jobs"]
    return [client, *(getattr(client, n) for n in names)]


@pytest.mark.parametrize("client", CLIENTS, ids=["sync", "async"])
def test_every_bound_method_shows_its_parameters(client: Tessera | AsyncTessera) -> None:
    seen = 0
    for resource in surfaces(client):
        for name, descriptor in endpoints(resource):
            expected = list(inspect.signature(descriptor._build).parameters)
            bound = getattr(resource, name)
            assert list(inspect.signature(bound).parameters) == expected, (resource, name)
            # On the class, the same parameters after ``self``.
            unbound = inspect.signature(getattr(type(resource), name))
            assert list(unbound.parameters) == ["self", *expected], (resource, name)
            assert bound.__doc__ and bound.__doc__ == descriptor._build.__doc__
            seen += 1
    assert seen >= 25


@pytest.mark.parametrize("client", CLIENTS, ids=["sync", "async"])
def test_a_resource_called_directly_shows_its_parameters(client: Tessera | AsyncTessera) -> None:
    search = inspect.signature(client.search)
    assert list(search.parameters)[:2] == ["query", "user_id"]
    assert "rerank" in search.parameters and "filters" in search.parameters
    assert "mode" in inspect.signature(client.query).parameters
    assert inspect.signature(client.search) == inspect.signature(client.search.search)


def test_help_lists_parameters_and_docs() -> None:
    client = CLIENTS[0]
    memories = pydoc.render_doc(client.memories, renderer=pydoc.plaintext)
    assert "add(self, /, *, content: 'str', role: 'Role'" in memories
    assert "Remember one conversational turn." in memories
    assert "list(self, /, *, user_id" in memories
    search = pydoc.render_doc(client.search, renderer=pydoc.plaintext)
    assert "__call__(self, /, query: 'str'" in search
    assert "search(self, /, query: 'str'" in search
    method = pydoc.render_doc(client.memories.get, renderer=pydoc.plaintext)
    assert "get(item_id: 'str', *, user_id: 'str | None' = None" in method


def test_an_endpoint_called_on_its_class_is_the_bound_call() -> None:
    import httpx
    from sdk_fakes import FakeService, Reply

    service = FakeService(
        Reply(
            json={
                "id": "job_1",
                "kind": "consolidate",
                "status": "queued",
                "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2025-01-01T00:00:00Z",
            }
        )
    )
    with httpx.Client(transport=httpx.MockTransport(service)) as http:
        client = Tessera(api_key="k", base_url="http://tessera.test", http_client=http)
        job = type(client.jobs).get(client.jobs, "job_1")
    assert job.id == "job_1" and service.last.url.path == "/v1/jobs/job_1"
