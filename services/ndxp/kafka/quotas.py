"""Kafka's client quotas on each connected member's principal, in secured mode: the broker
throttles a member that writes to its ingress topic faster than its byte rate (KIP-13's
``producer_byte_rate``), so no member can give the router more to read than its rate, whatever
it sends. ndxp's own principals (router, ledger, gateway) have no quota.

Applied with the Admin API's AlterClientQuotas (API key 49) and read back with
DescribeClientQuotas (48), which neither aiokafka nor confluent-kafka wraps: both requests (v0,
Kafka 2.6 on) are declared here with aiokafka's protocol types (``aiokafka.protocol.api``) and
sent on an ``AIOKafkaClient`` of their own, authenticated as the admin. Which member gets which
rate is pure (:func:`ndxp.core.acl.member_quotas`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Float64, Int8, Int16, Int32, Schema, String

from ndxp.core.errors import NdxpError
from ndxp.kafka.auth import KafkaAuth

PRODUCER_BYTE_RATE = "producer_byte_rate"
USER = "user"
_ENTITY = Array(("entity_type", String("utf-8")), ("entity_name", String("utf-8")))
SETTLE_S = 15.0  # how long the broker may take to hold quotas just set


class AlterClientQuotasResponse_v0(Response):  # type: ignore[misc]
    API_KEY = 49
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "entries",
            Array(
                ("error_code", Int16),
                ("error_message", String("utf-8")),
                ("entity", _ENTITY),
            ),
        ),
    )


class AlterClientQuotasRequest_v0(RequestStruct):  # type: ignore[misc]
    API_KEY = 49
    API_VERSION = 0
    RESPONSE_TYPE = AlterClientQuotasResponse_v0
    SCHEMA = Schema(
        (
            "entries",
            Array(
                ("entity", _ENTITY),
                (
                    "ops",
                    Array(("key", String("utf-8")), ("value", Float64), ("remove", Boolean)),
                ),
            ),
        ),
        ("validate_only", Boolean),
    )


class AlterClientQuotasRequest(Request[AlterClientQuotasRequest_v0]):  # type: ignore[misc]
    API_KEY = 49

    def __init__(self, entries: list[Any]) -> None:
        self._entries = entries

    def build(
        self, request_struct_class: type[AlterClientQuotasRequest_v0]
    ) -> AlterClientQuotasRequest_v0:
        return request_struct_class(self._entries, False)


class DescribeClientQuotasResponse_v0(Response):  # type: ignore[misc]
    API_KEY = 48
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("error_message", String("utf-8")),
        (
            "entries",
            Array(
                ("entity", _ENTITY),
                ("values", Array(("key", String("utf-8")), ("value", Float64))),
            ),
        ),
    )


class DescribeClientQuotasRequest_v0(RequestStruct):  # type: ignore[misc]
    API_KEY = 48
    API_VERSION = 0
    RESPONSE_TYPE = DescribeClientQuotasResponse_v0
    SCHEMA = Schema(
        (
            "components",
            Array(
                ("entity_type", String("utf-8")),
                ("match_type", Int8),
                ("match", String("utf-8")),
            ),
        ),
        ("strict", Boolean),
    )


class DescribeClientQuotasRequest(Request[DescribeClientQuotasRequest_v0]):  # type: ignore[misc]
    API_KEY = 48

    def build(
        self, request_struct_class: type[DescribeClientQuotasRequest_v0]
    ) -> DescribeClientQuotasRequest_v0:
        # every user with a quota of its own: entity type "user", match type 2 (any specified)
        return request_struct_class([(USER, 2, None)], False)


def apply_quotas(
    bootstrap: str, auth: KafkaAuth, rates: Mapping[str, float | None], prune: bool = False
) -> tuple[dict[str, float], list[str]]:
    """Set each user's ``producer_byte_rate`` (``None``: remove it), and with ``prune`` remove
    every other user's; return every user's rate as the broker then holds it, and the users
    whose quota was removed."""
    return asyncio.run(_apply(bootstrap, auth, rates, prune))


def read_quotas(bootstrap: str, auth: KafkaAuth) -> dict[str, float]:
    """Every user's ``producer_byte_rate`` as the broker holds it."""
    return asyncio.run(_apply(bootstrap, auth, {}, False))[0]


async def _apply(
    bootstrap: str, auth: KafkaAuth, wanted: Mapping[str, float | None], prune: bool
) -> tuple[dict[str, float], list[str]]:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, **auth.aiokafka())
    await client.bootstrap()
    try:
        node = client.get_random_node()
        rates = dict(wanted)
        if prune:
            for user in await _describe(client, node):
                rates.setdefault(user, None)
        removed = sorted(user for user, rate in rates.items() if rate is None)
        if rates:
            entries = [
                ([(USER, user)], [(PRODUCER_BYTE_RATE, float(rate or 0.0), rate is None)])
                for user, rate in sorted(rates.items())
            ]
            altered = await client.send(node, AlterClientQuotasRequest(entries))
            errors = [
                f"{entity[0][1]}: {message or code}"
                for code, message, entity in altered.entries
                if code != 0
            ]
            if errors:
                raise NdxpError("the broker refused quotas: " + "; ".join(errors))
        # the controller takes the change; each broker applies it when its metadata catches up
        deadline = time.monotonic() + SETTLE_S
        while True:
            held = await _describe(client, node)
            if all(held.get(user) == rate for user, rate in rates.items()):
                return held, removed
            if time.monotonic() > deadline:
                raise NdxpError(f"the broker did not hold the quotas set within {SETTLE_S:.0f} s")
            await asyncio.sleep(0.2)
    finally:
        await client.close()


async def _describe(client: AIOKafkaClient, node: int) -> dict[str, float]:
    described = await client.send(node, DescribeClientQuotasRequest())
    if described.error_code != 0:
        raise NdxpError(f"the broker did not describe its quotas: {described.error_message}")
    return {
        entity[0][1]: value
        for entity, values in described.entries
        for key, value in values
        if key == PRODUCER_BYTE_RATE and entity[0][0] == USER and entity[0][1] is not None
    }
