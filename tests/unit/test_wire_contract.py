"""schemas/wire.json is the published contract: the code must say the same."""

import json

from ndxp.core import wire
from ndxp.core.errors import RejectionCode
from ndxp.core.identifiers import MEMBER_CLASSES
from ndxp.core.topology import DEAD_LETTER_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES, MAX_VALUE_LIMIT
from ndxp.paths import REPO

CONTRACT = json.loads((REPO / "schemas" / "wire.json").read_text(encoding="utf-8"))


def test_headers() -> None:
    assert tuple(CONTRACT["headers"]["sender"]) == wire.SENDER_HEADERS
    assert tuple(CONTRACT["headers"]["router"]) == wire.ROUTER_HEADERS
    assert CONTRACT["headers"]["internal"]["prefix"] == wire.INTERNAL_PREFIX


def test_rejection_codes_and_their_descriptions() -> None:
    assert CONTRACT["rejection_codes"] == {c.value: c.description for c in RejectionCode}


def test_topics_kinds_classes_limits() -> None:
    assert wire.ingress_topic("000.00.00.H41") == CONTRACT["topics"]["ingress"]["example"]
    assert wire.egress_topic("000.00.01.G01") == CONTRACT["topics"]["egress"]["example"]
    assert CONTRACT["topics"]["rejected"]["name"] == wire.REJECTED_TOPIC
    assert tuple(CONTRACT["kinds"]["sender"]) == wire.SENDER_KINDS
    assert CONTRACT["kinds"]["router"] == [wire.KIND_ERROR]
    assert set(CONTRACT["member_classes"]) == set(MEMBER_CLASSES)
    assert CONTRACT["limits"]["max_value_bytes_default"] == wire.DEFAULT_MAX_VALUE_BYTES
    assert CONTRACT["limits"]["max_id_length"] == wire.MAX_ID_LENGTH
    assert CONTRACT["limits"]["max_header_bytes"] == wire.MAX_HEADER_BYTES
    assert CONTRACT["limits"]["max_key_bytes"] == wire.MAX_KEY_BYTES
    assert CONTRACT["limits"]["max_value_bytes_ceiling"] == MAX_VALUE_LIMIT
    assert CONTRACT["limits"]["dead_letter_max_message_bytes"] == DEAD_LETTER_MAX_MESSAGE_BYTES
    assert CONTRACT["topic_config"]["max.message.bytes"] == MAX_MESSAGE_BYTES
