"""How many bytes of call bodies a gateway holds, per member and in all (pure)."""

from __future__ import annotations

import pytest

from ndxp.core.xroad import XRoadError
from ndxp.gateway.bodies import Bodies

H41, H40 = "VN:GOV:000.00.00.H41", "VN:GOV:000.00.00.H40"


def refused(bodies: Bodies, member: str, size: int) -> tuple[int, str]:
    with pytest.raises(XRoadError) as info:
        bodies.reserve(member, size)
    return info.value.status, info.value.type


def test_a_member_over_its_share_is_refused_and_others_are_not() -> None:
    bodies = Bodies(per_member=100, total=150)
    bodies.reserve(H41, 60)
    bodies.reserve(H41, 40)
    assert refused(bodies, H41, 1) == (429, "Server.ClientProxy.QuotaExceeded")
    bodies.reserve(H41, 0)  # a call without a body always goes
    bodies.reserve(H40, 50)
    assert refused(bodies, H40, 1) == (503, "Server.ClientProxy.ServiceUnavailable")
    bodies.release(H41, 60)
    bodies.reserve(H40, 50)
    assert bodies.held == {H41: 40, H40: 100} and bodies.held_total == 140


def test_released_bytes_leave_nothing_behind() -> None:
    bodies = Bodies(per_member=100, total=1000)
    for size in (10, 20, 0):
        bodies.reserve(H41, size)
    for size in (20, 0, 10):
        bodies.release(H41, size)
    assert bodies.held == {} and bodies.held_total == 0
    bodies.reserve(H40, 0)  # a call without a body, from reserve to the end of the call
    bodies.release(H40, 0)
    bodies.release(H40, 0)
    assert bodies.held == {} and bodies.held_total == 0
