"""A request's ticket (ndxp.core.ticket): what the router stamps, and what it checks."""

from hypothesis import given
from hypothesis import strategies as st

from ndxp.core import wire
from ndxp.core.ticket import LENGTH, Tickets, ticket_key

KEY = ticket_key(b"k" * 32)
CLIENT = "VN:GOV:000.00.00.H41:motcua"
SERVICE = "VN:GOV:000.00.01.G01:dancu:tra-cuu:v1"


def test_a_ticket_is_short_ascii_and_the_same_for_the_same_request() -> None:
    t = Tickets(KEY).stamp(CLIENT, SERVICE, "m-1")
    assert t.startswith(b"t1.") and len(t) == LENGTH and t.isascii()
    int(t[3:], 16)  # hex digits: safe in any header
    assert Tickets(KEY).stamp(CLIENT, SERVICE, "m-1") == t  # every worker stamps the same


def test_a_ticket_answers_its_own_request_only() -> None:
    tickets = Tickets(KEY)
    t = tickets.stamp(CLIENT, SERVICE, "m-1").decode()
    assert tickets.valid(t, CLIENT, SERVICE, "m-1")
    assert not tickets.valid(t, CLIENT, SERVICE, "m-2")  # another request's id
    assert not tickets.valid(t, "VN:GOV:000.00.00.H42:motcua", SERVICE, "m-1")  # another client
    assert not tickets.valid(t, CLIENT, SERVICE.replace("v1", "v2"), "m-1")  # another service
    assert not tickets.valid(None, CLIENT, SERVICE, "m-1")
    assert not tickets.valid("", CLIENT, SERVICE, "m-1")
    assert not tickets.valid(t + "x", CLIENT, SERVICE, "m-1")
    assert not tickets.valid("t1." + "0" * 32, CLIENT, SERVICE, "m-1")  # well-formed, made up
    assert not tickets.valid("t1." + "é" * 32, CLIENT, SERVICE, "m-1")  # not ASCII: no error


def test_another_groups_key_makes_other_tickets() -> None:
    other = Tickets(ticket_key(b"j" * 32))
    t = Tickets(KEY).stamp(CLIENT, SERVICE, "m-1").decode()
    assert not other.valid(t, CLIENT, SERVICE, "m-1")
    assert ticket_key(b"k" * 32) != b"k" * 32  # never the seal key itself


def test_parts_cannot_be_shifted_between_fields() -> None:
    """The fields are joined with NUL, which no identifier or id holds: moving text from one
    field to the next makes another ticket."""
    tickets = Tickets(KEY)
    assert tickets.stamp("a:b", "c", "d") != tickets.stamp("a", "b:c", "d")
    assert tickets.stamp("a", "bc", "d") != tickets.stamp("a", "b", "cd")


def test_only_a_requests_copy_carries_one() -> None:
    tickets = Tickets(KEY)
    request = [
        (wire.H_ID, b"m-1"),
        (wire.H_KIND, b"request"),
        (wire.H_CLIENT, CLIENT.encode()),
        (wire.H_SERVICE, SERVICE.encode()),
    ]
    assert tickets.for_headers(request) == tickets.stamp(CLIENT, SERVICE, "m-1")
    notice = [(k, b"notice" if k == wire.H_KIND else v) for k, v in request]
    assert tickets.for_headers(notice) is None  # one-way: nothing answers it


@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40), st.text(max_size=30))
def test_no_forged_ticket_passes(client: str, service: str, mid: str, forged: str) -> None:
    tickets = Tickets(KEY)
    real = tickets.stamp(client, service, mid).decode()
    assert tickets.valid(forged, client, service, mid) == (forged == real)
