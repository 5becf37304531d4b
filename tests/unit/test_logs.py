import json
import logging

from ndxp.logs import JsonFormatter


def test_json_lines_carry_the_extra_fields() -> None:
    record = logging.LogRecord(
        "ndxp.router", logging.INFO, __file__, 1, "rejected %s id=%s", ("NOT_SENDER", "m-1"), None
    )
    record.code = "NOT_SENDER"
    record.message_id = "m-1"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "rejected NOT_SENDER id=m-1"
    assert (line["level"], line["logger"]) == ("INFO", "ndxp.router")
    assert (line["code"], line["message_id"]) == ("NOT_SENDER", "m-1")
    assert "args" not in line and "exc_info" not in line
