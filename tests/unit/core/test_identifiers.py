import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndxp.core.agency import AgencyCode
from ndxp.core.errors import InvalidIdentifier
from ndxp.core.identifiers import MemberId, ServiceId, SubsystemId, TaxCode


def test_subsystem_from_public_code() -> None:
    s = SubsystemId.parse("VN:GOV:000.00.00.G22:vpcpdvcprovider")
    assert s.member.instance == "VN"
    assert s.member.member_class == "GOV"
    assert s.member.code == AgencyCode.parse("000.00.00.G22")
    assert s.code == "vpcpdvcprovider"
    assert str(s) == "VN:GOV:000.00.00.G22:vpcpdvcprovider"


def test_service_with_and_without_version() -> None:
    v = ServiceId.parse("VN:GOV:000.00.01.G01:dancu:tra-cuu-cong-dan:v1")
    assert (v.code, v.version, v.subsystem.code) == ("tra-cuu-cong-dan", "v1", "dancu")
    assert str(v.member) == "VN:GOV:000.00.01.G01"
    plain = ServiceId.parse("VN:GOV:000.00.01.G22:vbdh:gui-van-ban")
    assert plain.version is None
    assert str(plain) == "VN:GOV:000.00.01.G22:vbdh:gui-van-ban"


def test_com_member_uses_tax_code_rule() -> None:
    m = MemberId.parse("VN:COM:0100109106")
    assert m.code == TaxCode("0100109106")
    branch = MemberId.parse("VN:COM:0100109106-001")
    assert branch.is_self_or_descendant_of(m)
    assert not m.is_self_or_descendant_of(branch)
    with pytest.raises(InvalidIdentifier, match="member code: expected 10 digits"):
        MemberId.parse("VN:COM:000.00.00.G12")
    with pytest.raises(InvalidIdentifier, match="member code: expected 4 dot-separated groups"):
        MemberId.parse("VN:GOV:0100109106")


@pytest.mark.parametrize(
    ("parse", "text", "reason"),
    [
        (SubsystemId.parse, "VN:GOV:000.00.00.G22", "expected 4 ':'-separated parts, got 3"),
        (SubsystemId.parse, "VN:GOV:000.00.00.G22:", "part 4 is empty"),
        (SubsystemId.parse, "VN:XYZ:000.00.00.G22:a", "member class 'XYZ' must be one of"),
        (SubsystemId.parse, "vn:GOV:000.00.00.G22:a", "instance 'vn'"),
        (SubsystemId.parse, "VN:GOV:000.00.00.g22:a", "capital letter"),
        (SubsystemId.parse, "VN:GOV:000.00.00.G22:a b", "whitespace"),
        (SubsystemId.parse, "VN:GOV:000.00.00.G22:-a", "subsystem code '-a'"),
        (SubsystemId.parse, "VN:GOV:000.00.00.G22:" + "a" * 65, "subsystem code"),
        (ServiceId.parse, "VN:GOV:000.00.00.G22:sub", "expected 5 or 6"),
        (ServiceId.parse, "VN:GOV:000.00.00.G22:sub:svc:v1:x", "expected 5 or 6"),
        (ServiceId.parse, "VN:GOV:000.00.00.G22:sub:svc:v/1", "version 'v/1'"),
        (ServiceId.parse, "VN:GOV:000.00.00.G22:sub:sv c", "whitespace"),
        (MemberId.parse, "VN:GOV:001.00.01.G22", "level-4 group is non-zero"),
    ],
)
def test_invalid_identifiers(parse, text: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidIdentifier) as info:
        parse(text)
    assert reason in str(info.value)


codes = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)
agency = st.builds(
    lambda l1, n, l2, l3, l4: str(
        AgencyCode(l4 if l3 and l2 else 0, l3 if l2 else 0, l2, f"{l1}{n:02d}")
    ),
    st.sampled_from("GHK"),
    st.integers(1, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 999),
)
member_codes = st.one_of(
    agency.map(lambda c: f"GOV:{c}"),
    st.from_regex(r"[0-9]{10}(-[0-9]{3})?", fullmatch=True).map(lambda c: f"COM:{c}"),
)
service_texts = st.builds(
    lambda inst, member, sub, svc, ver: f"{inst}:{member}:{sub}:{svc}" + (f":{ver}" if ver else ""),
    st.sampled_from(["VN", "VN-TEST", "EE"]),
    member_codes,
    codes,
    codes,
    st.one_of(st.none(), codes),
)


@given(service_texts)
def test_service_round_trip_is_lossless(text: str) -> None:
    sid = ServiceId.parse(text)
    assert str(sid) == text
    assert ServiceId.parse(str(sid)) == sid
    assert SubsystemId.parse(str(sid.subsystem)) == sid.subsystem


@given(st.text(max_size=60))
def test_arbitrary_text_parses_losslessly_or_is_refused(text: str) -> None:
    for parse in (MemberId.parse, SubsystemId.parse, ServiceId.parse):
        try:
            parsed = parse(text)
        except InvalidIdentifier as exc:
            assert exc.reason
        else:
            assert str(parsed) == text


@given(service_texts, st.sampled_from([" ", "\t", "::", ":", "\u00a0"]), st.integers(0, 60))
def test_injected_separators_or_spaces_never_parse_to_a_different_id(
    text: str, junk: str, at: int
) -> None:
    mutated = text[:at] + junk + text[at:]
    try:
        parsed = ServiceId.parse(mutated)
    except InvalidIdentifier:
        return
    assert str(parsed) == mutated
