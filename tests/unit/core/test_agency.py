import pytest
from hypothesis import given
from hypothesis import strategies as st

from ndxp.core.agency import AgencyCode
from ndxp.core.errors import InvalidIdentifier


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("000.00.00.G12", 1),
        ("000.00.18.G12", 2),
        ("000.41.18.G12", 3),
        ("001.01.01.H41", 4),
    ],
)
def test_levels(text: str, level: int) -> None:
    code = AgencyCode.parse(text)
    assert code.level == level
    assert str(code) == text


def test_parent_chain_and_ancestors() -> None:
    code = AgencyCode.parse("001.02.03.H41")
    assert str(code.parent) == "000.02.03.H41"
    assert [str(a) for a in code.ancestors()] == ["000.02.03.H41", "000.00.03.H41", "000.00.00.H41"]
    assert AgencyCode.parse("000.00.00.H41").parent is None
    assert str(code.root) == "000.00.00.H41"


def test_descendants() -> None:
    gdt = AgencyCode.parse("000.00.18.G12")
    mof = AgencyCode.parse("000.00.00.G12")
    unit = AgencyCode.parse("000.41.18.G12")
    assert gdt.is_descendant_of(mof)
    assert unit.is_descendant_of(mof) and unit.is_descendant_of(gdt)
    assert not mof.is_descendant_of(gdt)
    assert not gdt.is_descendant_of(gdt)
    assert gdt.is_self_or_descendant_of(gdt)
    assert not unit.is_descendant_of(AgencyCode.parse("000.00.17.G12"))
    assert not unit.is_descendant_of(AgencyCode.parse("000.00.00.G13"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("00.00.00.G12", "level-4 group '00' must have 3 characters"),
        ("000.0.00.G12", "level-3 group '0' must have 2 characters"),
        ("000.00.000.G12", "level-2 group '000' must have 2 characters"),
        ("000.00.00.G1", "level-1 group 'G1' must have 3 characters"),
        ("000.00.00.g12", "must start with a capital letter"),
        ("000.00.00.112", "must start with a capital letter"),
        ("000.00.00.GAB", "must end with two digits"),
        ("000.00.00.G00", "must not be numbered 00"),
        ("000.01.00.G12", "level-3 group is non-zero below a zero level-2 group"),
        ("001.00.05.G12", "level-4 group is non-zero below a zero level-3 group"),
        (" 000.00.00.G12", "whitespace"),
        ("000.00.00.G12\n", "whitespace"),
        ("000.00.00", "expected 4 dot-separated groups, got 3"),
        ("000.00.00.G12.1", "expected 4 dot-separated groups, got 5"),
        ("0a0.00.00.G12", "must be digits"),
        ("000.٠٠.00.G12", "must be digits"),  # Arabic-Indic digits are not ASCII digits
        ("", "expected 4 dot-separated groups, got 1"),
    ],
)
def test_invalid_codes_are_refused_with_a_precise_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        AgencyCode.parse(text)
    assert reason in info.value.reason
    assert not AgencyCode.is_valid(text)


valid_codes = st.builds(
    lambda letter, number, l2, l3, l4: AgencyCode(
        l4 if l3 and l2 else 0, l3 if l2 else 0, l2, f"{letter}{number:02d}"
    ),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.integers(1, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 999),
)


@given(valid_codes)
def test_round_trip(code: AgencyCode) -> None:
    assert AgencyCode.parse(str(code)) == code


@given(valid_codes)
def test_every_ancestor_is_valid_and_one_level_up(code: AgencyCode) -> None:
    levels = [a.level for a in code.self_and_ancestors()]
    assert levels == list(range(code.level, 0, -1))
    for a in code.ancestors():
        assert AgencyCode.parse(str(a)) == a
        assert code.is_descendant_of(a)


@given(st.text(max_size=20))
def test_arbitrary_text_parses_or_is_refused(text: str) -> None:
    try:
        code = AgencyCode.parse(text)
    except InvalidIdentifier as exc:
        assert exc.reason
    else:
        assert str(code) == text
