"""``immutable``: a plain slots dataclass at run time (cheap to make), frozen to mypy."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

from ndxp.core.envelope import Envelope
from ndxp.core.immutable import immutable
from ndxp.core.quota import QuotaDecision
from ndxp.core.routing import Routed
from ndxp.router.forwarding import Outgoing, Source, Staged


@immutable
class Point:
    x: int
    label: str = "p"


def test_fields_compare_and_hash_as_a_frozen_dataclass() -> None:
    assert Point(1) == Point(1, "p")
    assert Point(1) != Point(2)
    assert hash(Point(1)) == hash(Point(1, "p"))
    assert len({Point(1), Point(1), Point(2)}) == 2
    assert repr(Point(3, "q")) == "Point(x=3, label='q')"


def test_slots_no_instance_dict() -> None:
    for made in (Point(1), Source("t", 0, 1, 2)):
        assert not hasattr(made, "__dict__")
        with pytest.raises(AttributeError):
            made.undeclared = 1  # type: ignore[attr-defined]


def test_mypy_refuses_an_assignment_to_a_field(tmp_path: Path) -> None:
    """The guarantee a frozen dataclass gave at run time is the type checker's now."""
    code = tmp_path / "assign.py"
    code.write_text(
        textwrap.dedent(
            """
            from ndxp.core.envelope import Envelope
            from ndxp.router.forwarding import Source

            def f(e: Envelope, s: Source) -> None:
                e.client = "VN:GOV:000.00.00.H00:x"
                s.offset = 0
            """
        )
    )
    out, _, status = mypy_api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", str(code)]
    )
    assert status == 1, out
    assert 'Property "client" defined in "Envelope" is read-only' in out
    assert 'Property "offset" defined in "Source" is read-only' in out


@pytest.mark.parametrize(
    "cls", [Envelope, Routed, QuotaDecision, Source, Outgoing, Staged], ids=lambda c: c.__name__
)
def test_what_the_router_makes_per_record_is_not_frozen_at_run_time(cls: type) -> None:
    """A frozen dataclass's __init__ costs 6x (1.34 against 0.22 us for five fields):
    the records made for every routed message stay plain slots dataclasses."""
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    assert not params.frozen and params.unsafe_hash
    assert "__slots__" in vars(cls)
