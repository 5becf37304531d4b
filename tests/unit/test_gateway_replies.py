"""Which record on a member's egress topic answers a waiting gateway call (pure: no broker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ndxp.core import wire
from ndxp.core.identifiers import MemberId
from ndxp.gateway.replies import EARLY_NOTICES, Replies
from ndxp.settings import GatewaySettings

ROUTE = MemberId.parse("VN:GOV:000.00.00.H41")
EGRESS = wire.egress_topic(ROUTE)
CLIENT, SERVICE = "VN:GOV:000.00.00.H41:motcua", "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1"
MINE = ("ndxp.in.000.00.00.H41", 2, 17)  # where the call was written


@dataclass
class Rec:
    topic: str
    headers: list[tuple[str, bytes]]
    value: bytes = b"{}"


def notice(rid: str, at: tuple[str, int, int], code: str = "FORBIDDEN") -> Rec:
    topic, partition, offset = at
    return Rec(
        EGRESS,
        [
            (wire.H_KIND, b"error"),
            (wire.H_CORRELATION_ID, rid.encode()),
            (wire.H_ERROR, code.encode()),
            (wire.H_SOURCE_TOPIC, topic.encode()),
            (wire.H_SOURCE_PARTITION, str(partition).encode()),
            (wire.H_SOURCE_OFFSET, str(offset).encode()),
        ],
    )


def test_a_notice_answers_the_call_only_about_its_own_record() -> None:
    async def run() -> None:
        r = Replies(GatewaySettings())
        call = r.expect(ROUTE, "rid", CLIENT, SERVICE)
        r.written(ROUTE, "rid", MINE, call)
        r.on_record(notice("rid", ("ndxp.in.000.00.00.H41", 0, 17), "UNKNOWN_SERVICE"))
        assert not call.done() and r.late == 1  # another unit's record with the same id
        r.on_record(notice("rid", MINE))
        assert call.done() and call.result().headers[2] == (wire.H_ERROR, b"FORBIDDEN")

    asyncio.run(run())


def test_a_notice_read_before_the_write_is_acknowledged_waits_for_it() -> None:
    async def run() -> None:
        r = Replies(GatewaySettings())
        call = r.expect(ROUTE, "rid", CLIENT, SERVICE)
        for i in range(EARLY_NOTICES + 5):  # a flood of notices with the id: a few are kept
            r.on_record(notice("rid", ("ndxp.in.000.00.00.H41", 1, i), "UNKNOWN_SERVICE"))
        r.on_record(notice("rid", MINE))  # past the bound: not kept
        assert not call.done() and len(r.waiting[EGRESS, "rid"].early) == EARLY_NOTICES
        r.written(ROUTE, "rid", MINE, call)
        assert not call.done()  # none of those kept was about the call's record
        r.on_record(notice("rid", MINE))
        assert call.done()

        other = r.expect(ROUTE, "rid-2", CLIENT, SERVICE)
        r.on_record(notice("rid-2", MINE))  # its own refusal, read before the ack
        assert not other.done()
        r.written(ROUTE, "rid-2", MINE, other)
        assert other.done() and not r.waiting

    asyncio.run(run())


def test_a_finished_call_never_forgets_a_newer_call_with_its_id() -> None:
    """Once a call is answered its key is free: a retry, or another unit of the member,
    may wait under the same id before the first caller's handler forgets its own. That
    forget (and a late acknowledgement of the first write) must leave the newer call alone:
    it used to be dropped, and timed out 504 with its answer on the topic."""

    async def run() -> None:
        r = Replies(GatewaySettings())
        first = r.expect(ROUTE, "rid", CLIENT, SERVICE)
        r.written(ROUTE, "rid", MINE, first)
        r.on_record(notice("rid", MINE))
        assert first.done()
        newer = r.expect(ROUTE, "rid", "VN:GOV:001.01.01.H41:motcua", SERVICE)
        r.written(ROUTE, "rid", MINE, first)  # the first call's, late: not the newer one's
        r.forget(ROUTE, "rid", first)
        assert (EGRESS, "rid") in r.waiting and not newer.done()
        r.written(ROUTE, "rid", ("ndxp.in.000.00.00.H41", 2, 18), newer)
        r.on_record(notice("rid", ("ndxp.in.000.00.00.H41", 2, 18)))
        assert newer.done()
        r.forget(ROUTE, "rid", newer)
        assert not r.waiting and not r.by_client

    asyncio.run(run())
