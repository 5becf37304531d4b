"""The document envelope (ndxp.core.document): ids in edXML's form, receivers, fan-out."""

from __future__ import annotations

import datetime as dt

import pytest

from ndxp.core import document as d
from ndxp.core.agency import AgencyCode
from ndxp.core.registry import Registry

GOV_OFFICE = "000.00.00.G22"


def headers(**extra: str) -> dict[str, str]:
    base = {
        d.H_DOC_ID: f"{GOV_OFFICE},2022/03/15,123/VPCP-KSTT",
        d.H_DOC_TO: "000.00.00.H41,000.00.00.H42",
        d.H_DOC_TYPE: "1",
    }
    base.update({k.replace("_", "-"): v for k, v in extra.items()})
    return base


def test_a_document_id_parses_and_formats_back() -> None:
    text = "000.00.00.G22,2022/03/15,20/QĐ-TTg"
    doc_id = d.DocumentId.parse(text)
    assert doc_id.sender == AgencyCode.parse(GOV_OFFICE)
    assert doc_id.date == dt.date(2022, 3, 15)
    assert (doc_id.number, doc_id.notation) == ("20", "QĐ-TTg")
    assert str(doc_id) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "000.00.00.G22,2022/03/15",  # no number
        "000.00.00.G22,2022/03/15,123/A,B",  # a comma in the notation
        "000.00.00.G99X,2022/03/15,123/VPCP",  # not an agency code
        "000.00.00.G22,2022-03-15,123/VPCP",  # the date's form
        "000.00.00.G22,2022/02/30,123/VPCP",  # no such day
        "000.00.00.G22,2022/03/15,123",  # no notation
        "000.00.00.G22,2022/03/15,/VPCP",  # no number
        "000.00.00.G22,2022/03/15,１２/VPCP",  # fullwidth digits
        "000.00.00.G22,2022/03/15,123/-VPCP",  # a mark first
        "000.00.00.G22,2022/03/15,123/VP CP",  # a space
        "000.00.00.G22,2022/03/15,123/VP\nCP",  # a control character
        "000.00.00.G22,2022/03/15,123/" + "A" * 65,  # too long
        "000.00.00.G22,2022/03/15," + "1" * 17 + "/A",
    ],
)
def test_a_malformed_document_id_is_refused_with_its_header(text: str) -> None:
    with pytest.raises(d.InvalidDocument) as caught:
        d.DocumentId.parse(text)
    assert caught.value.header == d.H_DOC_ID


def test_an_envelope_with_defaults() -> None:
    env = d.read_envelope(headers())
    assert [str(r) for r in env.receivers] == ["000.00.00.H41", "000.00.00.H42"]
    assert (env.priority, env.business, env.ref, env.due) == (
        d.Priority.NORMAL,
        d.Business.NEW,
        None,
        None,
    )


def test_an_update_names_the_document_it_acts_on() -> None:
    ref = f"{GOV_OFFICE},2022/03/01,99/VPCP-KSTT"
    env = d.read_envelope(
        headers(
            **{"ndxp-doc-business": "update", "ndxp-doc-ref": ref, "ndxp-doc-due": "2022-04-01"}
        )
    )
    assert env.business is d.Business.UPDATE and str(env.ref) == ref
    assert env.due == dt.date(2022, 4, 1)


@pytest.mark.parametrize(
    ("extra", "header"),
    [
        ({"ndxp-doc-business": "revoke"}, d.H_DOC_REF),  # no ref
        ({"ndxp-doc-ref": f"{GOV_OFFICE},2022/03/01,1/A"}, d.H_DOC_REF),  # new with a ref
        ({"ndxp-doc-business": "delete"}, d.H_DOC_BUSINESS),
        (  # another agency's document
            {"ndxp-doc-business": "revoke", "ndxp-doc-ref": "000.00.00.H41,2022/03/01,1/A"},
            d.H_DOC_REF,
        ),
        (  # itself
            {
                "ndxp-doc-business": "replace",
                "ndxp-doc-ref": f"{GOV_OFFICE},2022/03/15,123/VPCP-KSTT",
            },
            d.H_DOC_REF,
        ),
        ({"ndxp-doc-priority": "5"}, d.H_DOC_PRIORITY),
        ({"ndxp-doc-priority": "01"}, d.H_DOC_PRIORITY),
        ({"ndxp-doc-due": "2022-13-01"}, d.H_DOC_DUE),
        ({"ndxp-doc-type": "công văn"}, d.H_DOC_TYPE),
        ({"ndxp-doc-type": ""}, d.H_DOC_TYPE),
        ({"ndxp-doc-to": ""}, d.H_DOC_TO),
        ({"ndxp-doc-to": "000.00.00.H41,"}, d.H_DOC_TO),
        ({"ndxp-doc-to": "000.00.00.H41,000.00.00.H41"}, d.H_DOC_TO),  # twice
        ({"ndxp-doc-to": ",".join(f"000.00.00.H{i:02d}" for i in range(1, 100)) * 2}, d.H_DOC_TO),
    ],
)
def test_a_bad_envelope_names_the_header_at_fault(extra: dict[str, str], header: str) -> None:
    with pytest.raises(d.InvalidDocument) as caught:
        d.read_envelope({**headers(), **extra})
    assert caught.value.header == header


def test_missing_headers_are_named() -> None:
    for name in (d.H_DOC_ID, d.H_DOC_TO, d.H_DOC_TYPE):
        partial = headers()
        del partial[name]
        with pytest.raises(d.InvalidDocument) as caught:
            d.read_envelope(partial)
        assert caught.value.header == name


def test_as_many_receivers_as_the_bound_are_accepted() -> None:
    codes = [f"000.{i // 99 + 1:02d}.{i % 99 + 1:02d}.H41" for i in range(d.MAX_RECEIVERS)]
    assert len(d.receivers_of(",".join(codes))) == d.MAX_RECEIVERS
    with pytest.raises(d.InvalidDocument):
        d.receivers_of(",".join([*codes, "000.00.00.H42"]))


def test_fan_out_delivers_to_each_known_receiver_and_refuses_the_rest(registry: Registry) -> None:
    env = d.read_envelope(
        headers(
            **{
                "ndxp-doc-to": ",".join(
                    [
                        "000.00.00.H41",  # a connected province
                        "000.01.01.H41",  # a unit below it: reached through the province
                        "000.00.00.K01",  # known, not connected
                        "000.00.00.H99",  # not in the registry
                        GOV_OFFICE,  # the sender itself
                        "000.00.00.H42",
                    ]
                )
            }
        )
    )
    deliveries, refusals = d.fan_out(env, registry)
    assert [(str(x.receiver.code), str(x.route.code), x.topic) for x in deliveries] == [
        ("000.00.00.H41", "000.00.00.H41", "ndxp.out.000.00.00.H41"),
        ("000.01.01.H41", "000.00.00.H41", "ndxp.out.000.00.00.H41"),
        ("000.00.00.H42", "000.00.00.H42", "ndxp.out.000.00.00.H42"),
    ]
    assert [(str(r.receiver), r.code) for r in refusals] == [
        ("000.00.00.K01", d.Refused.NO_ROUTE),
        ("000.00.00.H99", d.Refused.UNKNOWN_RECEIVER),
        (GOV_OFFICE, d.Refused.SELF),
    ]


def test_a_delivery_key_names_document_and_receiver() -> None:
    doc_id = d.DocumentId.parse(f"{GOV_OFFICE},2022/03/15,123/VPCP-KSTT")
    a, b = AgencyCode.parse("000.00.00.H41"), AgencyCode.parse("000.00.00.H42")
    assert d.delivery_key(doc_id, a) != d.delivery_key(doc_id, b)
    assert d.delivery_key(doc_id, a) == d.delivery_key(d.DocumentId.parse(str(doc_id)), a)


def test_a_document_kept_elsewhere_is_named_by_its_size_and_hash() -> None:
    import hashlib

    from ndxp.core.document import kept_elsewhere

    value = bytes(range(256)) * 3
    assert kept_elsewhere(value) == (
        ("ndxp-payload-size", b"768"),
        ("ndxp-payload-sha256", hashlib.sha256(value).hexdigest().encode()),
    )
    assert kept_elsewhere(None)[0] == ("ndxp-payload-size", b"0")
