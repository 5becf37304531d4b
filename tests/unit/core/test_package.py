"""Packages in parts: split, checked, put together again whatever order or repeats the parts
arrive in, and refused when their headers or bytes do not agree."""

import hashlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndxp.core import package as pk


def test_a_small_package_is_one_part_and_a_20_mib_one_many() -> None:
    [(only, chunk)] = pk.split(b"<edXML/>")
    assert (only.index, only.count, chunk) == (1, 1, b"<edXML/>")
    big = random.Random(1).randbytes(pk.MAX_PACKAGE_BYTES)
    parts = pk.split(big)
    assert len(parts) == 27 and all(len(c) <= pk.PART_BYTES for _, c in parts)
    assert {p.sha256 for p, _ in parts} == {hashlib.sha256(big).hexdigest()}
    with pytest.raises(pk.InvalidPackage):
        pk.split(big + b"x")


@given(st.binary(max_size=5000), st.integers(1, 700), st.randoms())
def test_parts_in_any_order_with_repeats_give_the_package_back(
    data: bytes, size: int, rng: random.Random
) -> None:
    parts = pk.split(data, size)
    arrivals = parts + rng.sample(parts, len(parts) // 2)  # some twice (a router crash)
    rng.shuffle(arrivals)
    first = arrivals[0][0]
    assembly = pk.Assembly(first.count, first.size, first.sha256)
    wholes = [w for p, c in arrivals if (w := assembly.add(p, c)) is not None]
    assert wholes and all(w == data for w in wholes)


def test_parts_that_do_not_hash_to_the_package_are_refused() -> None:
    parts = pk.split(b"a" * 100, 30)
    assembly = pk.Assembly(parts[0][0].count, 100, parts[0][0].sha256)
    for p, c in parts[:-1]:
        assert assembly.add(p, c) is None
    last, chunk = parts[-1]
    with pytest.raises(pk.InvalidPackage):
        assembly.add(last, b"b" * len(chunk))
    # a part of another package (other hash) is not taken
    other = pk.split(b"z" * 100, 30)[0]
    assert pk.Assembly(4, 100, parts[0][0].sha256).add(*other) is None


@pytest.mark.parametrize(
    ("headers", "at"),
    [
        ({"ndxp-doc-part": "1/2"}, "ndxp-doc-size"),
        ({"ndxp-doc-part": "0/2", "ndxp-doc-size": "5", "ndxp-doc-sha256": "a" * 64}, "part"),
        ({"ndxp-doc-part": "3/2", "ndxp-doc-size": "5", "ndxp-doc-sha256": "a" * 64}, "part"),
        ({"ndxp-doc-part": "1/2000", "ndxp-doc-size": "5", "ndxp-doc-sha256": "a" * 64}, "part"),
        ({"ndxp-doc-part": "１/2", "ndxp-doc-size": "5", "ndxp-doc-sha256": "a" * 64}, "part"),
        ({"ndxp-doc-part": "1/2", "ndxp-doc-size": "0", "ndxp-doc-sha256": "a" * 64}, "size"),
        (
            {"ndxp-doc-part": "1/2", "ndxp-doc-size": str(21 << 20), "ndxp-doc-sha256": "a" * 64},
            "size",
        ),
        ({"ndxp-doc-part": "1/2", "ndxp-doc-size": "5", "ndxp-doc-sha256": "A" * 64}, "sha256"),
        ({"ndxp-doc-part": "1/2", "ndxp-doc-size": "5", "ndxp-doc-sha256": "a" * 63}, "sha256"),
    ],
)
def test_part_headers_are_checked(headers: dict[str, str], at: str) -> None:
    with pytest.raises(pk.InvalidPackage) as info:
        pk.read_part(headers)
    assert at in info.value.header
    assert pk.read_part({}) is None
