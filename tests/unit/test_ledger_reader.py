"""Where ``ndxp report`` and ``ndxp sql`` read: a ledger service too busy to answer its health
check in time still runs (and holds the embedded engine); only a refused connection does not."""

from __future__ import annotations

import socket
from pathlib import Path

from ndxp.ledger.reader import ServiceReader


def test_nothing_listening_is_no_service(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    assert not ServiceReader(port, tmp_path / "token").alive(timeout_s=1.0)


def test_a_service_too_busy_to_answer_in_time_is_still_running(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)  # the connection is accepted by the kernel; nothing ever answers
        port = s.getsockname()[1]
        assert ServiceReader(port, tmp_path / "token").alive(timeout_s=0.5)
