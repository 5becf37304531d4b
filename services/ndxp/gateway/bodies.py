"""The bytes of call bodies one gateway process holds, per member and in all. The member is
the calling platform: the client's nearest connected member, whose units share its share (a
province's units are members of their own, and its certificate speaks for them all).

A call's body is held from the moment its head arrives (its declared length, or the value
limit when it comes chunked) until the call ends (answered, refused, timed out). A member
over its share is answered 429 before its body is read, the gateway over its whole 503:
bodies that arrive slowly, or calls whose provider never answers, hold one member's share
and never the memory every member's calls need. Before, 1,500 connections each declaring
1 MiB and sending a byte less grew the gateway from 0.5 to 2.8 GB (and 20,000 connections
were allowed).
"""

from __future__ import annotations

from ndxp.core.xroad import XRoadError


class Bodies:
    def __init__(self, per_member: int, total: int) -> None:
        self.per_member = per_member
        self.total = total
        self.held: dict[str, int] = {}  # bytes held per member (its id: VN:GOV:000.00.00.H41)
        self.held_total = 0

    def reserve(self, member: str, size: int) -> None:
        """Hold ``size`` bytes for a call of ``member``, or refuse the call."""
        if not size:
            return
        mine = self.held.get(member, 0)
        if mine + size > self.per_member:
            raise XRoadError(
                429,
                "Server.ClientProxy.QuotaExceeded",
                f"calls of {member} hold {mine:,} bytes of bodies here (at most "
                f"{self.per_member:,}): wait for their answers",
                retry_after="1",
            )
        if self.held_total + size > self.total:
            raise XRoadError(
                503,
                "Server.ClientProxy.ServiceUnavailable",
                "the gateway holds as many call bodies as it may: try again",
                retry_after="1",
            )
        self.held[member] = mine + size
        self.held_total += size

    def release(self, member: str, size: int) -> None:
        if not size:
            return
        left = self.held[member] - size
        if left:
            self.held[member] = left
        else:
            del self.held[member]
        self.held_total -= size
