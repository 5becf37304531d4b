"""The gateway's calls waiting for their answers: a client's share of them (no broker is
needed: nothing is read here)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from ndxp.core import wire
from ndxp.core.identifiers import MemberId
from ndxp.core.xroad import XRoadError
from ndxp.gateway.replies import Replies
from ndxp.settings import GatewaySettings

ROUTE = MemberId.parse("VN:GOV:000.00.00.H41")
FLOODER = "VN:GOV:000.00.00.H41:motcua"
OTHER = "VN:GOV:000.00.00.H41:lgsp"
SERVICE = "VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1"


def answer(call_id: str) -> SimpleNamespace:
    """The response to ``call_id`` as the reply consumer reads it from the egress topic."""
    headers = [
        (wire.H_KIND, wire.KIND_RESPONSE.encode()),
        (wire.H_CORRELATION_ID, call_id.encode()),
        (wire.H_CLIENT, FLOODER.encode()),
        (wire.H_SERVICE, SERVICE.encode()),
    ]
    return SimpleNamespace(topic=wire.egress_topic(ROUTE), headers=headers, value=b"{}")


def test_one_client_waits_on_at_most_its_share_of_calls_and_others_are_not_refused() -> None:
    async def run() -> None:
        replies = Replies(GatewaySettings(max_pending_per_client=3, max_pending=100))
        calls = {f"f{i}": replies.expect(ROUTE, f"f{i}", FLOODER, SERVICE) for i in range(3)}
        with pytest.raises(XRoadError) as refused:
            replies.expect(ROUTE, "f3", FLOODER, SERVICE)
        assert (refused.value.status, refused.value.type) == (
            429,
            "Server.ClientProxy.QuotaExceeded",
        )
        assert refused.value.retry_after == "1"
        calls["o0"] = replies.expect(ROUTE, "o0", OTHER, SERVICE)  # another client, same member
        replies.forget(ROUTE, "f0", calls["f0"])  # timed out, or failed: a place again
        calls["f3"] = replies.expect(ROUTE, "f3", FLOODER, SERVICE)
        with pytest.raises(XRoadError):
            replies.expect(ROUTE, "f4", FLOODER, SERVICE)
        answered = calls["f1"]
        replies.on_record(answer("f1"))  # answered: a place again, before the caller forgets
        assert answered.done() and answered.result().value == b"{}"
        calls["f4"] = replies.expect(ROUTE, "f4", FLOODER, SERVICE)
        # forgetting twice or never expected: no change
        replies.forget(ROUTE, "no-such-call", calls["f1"])
        for call in ("f1", "f2", "f3", "f4", "o0", "f3"):
            replies.forget(ROUTE, call, calls[call])
        assert replies.by_client == {} and replies.waiting == {}

    asyncio.run(run())
