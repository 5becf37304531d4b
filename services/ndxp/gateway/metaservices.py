"""X-Road's REST metaservices, answered from the registry: ``GET /listClients``,
``GET /r1/{provider subsystem}/listMethods``, ``/allowedMethods`` (the services the calling
``X-Road-Client`` may call) and ``/getOpenAPI?serviceCode=`` (the service's ``openapi`` in the
registry; 404 when it declares none). Bodies as X-Road's metaservices protocol for REST
gives them."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ndxp.core import xroad
from ndxp.core.identifiers import MemberId, ServiceId, SubsystemId
from ndxp.core.registry import Registry
from ndxp.core.xroad import XRoadError
from ndxp.gateway.calls import GATEWAY, JSON, check_caller, error_response

METHODS = ("listMethods", "allowedMethods", "getOpenAPI")


def member_json(member: MemberId) -> dict[str, str]:
    return {
        "member_class": member.member_class,
        "member_code": str(member.code),
        "object_type": "MEMBER",
        "xroad_instance": member.instance,
    }


def subsystem_json(subsystem: SubsystemId) -> dict[str, str]:
    return {
        **member_json(subsystem.member),
        "object_type": "SUBSYSTEM",
        "subsystem_code": subsystem.code,
    }


def service_json(service: ServiceId) -> dict[str, str]:
    return {
        **subsystem_json(service.subsystem),
        "object_type": "SERVICE",
        "service_code": xroad.service_code(service),
        "service_type": "REST",
    }


def list_clients(registry: Registry) -> dict[str, Any]:
    """Every member and subsystem of the registry."""
    out: list[dict[str, Any]] = []
    for member in sorted(registry.members.values(), key=lambda m: str(m.id)):
        out.append({"id": member_json(member.id), "name": member.name})
    for text, party in sorted(registry.subsystems.items()):
        out.append({"id": subsystem_json(SubsystemId.parse(text)), "name": party.name})
    return {"member": out}


def services_of(registry: Registry, subsystem: SubsystemId) -> list[str]:
    prefix = f"{subsystem}:"
    return sorted(t for t in registry.services if t.startswith(prefix))


def list_methods(registry: Registry, subsystem: SubsystemId, client: Any = None) -> dict[str, Any]:
    """The provider's services; with ``client`` (a registered subsystem), those it may call."""
    texts = services_of(registry, subsystem)
    if client is not None:
        texts = [t for t in texts if registry.allowed(t, client)]
    return {"service": [service_json(ServiceId.parse(t)) for t in texts]}


def openapi_of(registry: Registry, subsystem: SubsystemId, code: str) -> dict[str, Any] | None:
    """The OpenAPI document the registry declares for the service ``code`` (X-Road's service
    code: ``code`` or ``code~version``) of ``subsystem``."""
    for text in services_of(registry, subsystem):
        if xroad.service_code(ServiceId.parse(text)) == code:
            described = registry.described.get(text)
            return None if described is None else described.openapi
    return None


async def list_clients_view(request: web.Request) -> web.Response:
    """``/listClients``: built once per registry, then the same bytes for every caller."""
    gw = request.app[GATEWAY]
    if gw.client_list is None or gw.client_list[0] is not gw.registry:
        gw.client_list = (gw.registry, orjson.dumps(list_clients(gw.registry)))
    return web.Response(body=gw.client_list[1], headers={"Content-Type": JSON})


async def meta(request: web.Request, subsystem_segments: list[str], method: str) -> web.Response:
    """``/r1/{instance}/{class}/{code}/{subsystem}/{method}``."""
    gw = request.app[GATEWAY]
    request_id = request.headers.get("X-Road-Id") or "-"
    try:
        if request.method not in ("GET", "HEAD"):  # metaservices are read, never written
            raise XRoadError(405, "Client.BadRequest", f"{method} is read with GET")
        member = xroad.parse_member(subsystem_segments[:3])
        subsystem = SubsystemId.parse(f"{member}:{xroad.decode(subsystem_segments[3])}")
        if str(subsystem) not in gw.registry.subsystems:
            raise XRoadError(404, "Server.ServerProxy.UnknownService", f"no subsystem {subsystem}")
        if method == "listMethods":
            return _json(list_methods(gw.registry, subsystem))
        if method == "allowedMethods":
            client = xroad.parse_client(request.headers.get("X-Road-Client"))
            check_caller(gw, request, client)
            party = gw.registry.subsystems.get(str(client))
            if party is None:
                raise xroad.rejection("UNKNOWN_CLIENT", f"client {client} is not in the registry")
            return _json(list_methods(gw.registry, subsystem, party))
        code = request.query.get("serviceCode")
        if not code:
            raise xroad.bad_request("getOpenAPI needs ?serviceCode=")
        document = openapi_of(gw.registry, subsystem, code)
        if document is None:
            raise XRoadError(
                404,
                "Server.ServerProxy.UnknownService",
                f"service {code} of {subsystem} has no OpenAPI description in the registry",
            )
        return _json(document)
    except XRoadError as err:
        return error_response(err, request_id)


def _json(document: dict[str, Any]) -> web.Response:
    return web.Response(body=orjson.dumps(document), headers={"Content-Type": JSON})
