from ndxp.core import wire
from ndxp.core.wire import header


def test_header_is_the_first_value_by_name_decoded_leniently() -> None:
    headers = [
        ("x-other", b"a"),
        (wire.H_ID, None),  # a header without a value is passed over
        (wire.H_ID, b"m-1\xff"),
        (wire.H_ID, b"m-2"),
    ]
    assert header(headers, wire.H_ID) == "m-1\ufffd"
    assert header(headers, "x-other") == "a"
    assert header(headers, wire.H_KIND) is None
    assert header([(wire.H_KIND, None)], wire.H_KIND) is None
    assert header([(wire.H_KIND, bytearray(b"request"))], wire.H_KIND) == "request"
    assert header([], wire.H_ID) is None
