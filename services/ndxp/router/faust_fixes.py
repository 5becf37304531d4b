"""A workaround for a message-loss race in faust-streaming 0.15.3, found by our crash tests.

Faust keeps a "read offset" per partition and silently *drops* fetched messages below it
(``DROPPED MESSAGE ROFF`` in ``Consumer._drain_messages``), acking later ones, so their
offsets get committed. After a restart under load, with a table being recovered, we saw the
read offset of an ingress partition set past the committed offset the fetcher resumed from
(read offset 875, fetched from 412): offsets 412..874 were dropped, never routed, and
committed over — lost. The same race shows up as a "gap" (read offset below the fetch
position) that Faust acks on the messages' behalf.

ndxp does not need Faust's duplicate suppression: delivery is at-least-once by design, the
quota stage recognises redelivered requests by their ingress coordinates, and the ledger
deduplicates by message id. So the router turns the read-offset bookkeeping off: every
fetched message is processed, none is dropped, no gap is acked for it. The one cost: a real
offset gap in an ingress partition (a transactional sender's control records) is never
acked, so commits for that partition stop advancing there and a restart re-reads from it —
duplicates, never loss. Senders use idempotent, non-transactional producers (schemas/WIRE.md).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any


class NoReadOffsets(MutableMapping[Any, Any]):
    """A read-offset map that forgets everything: Faust sees ``None`` and drops nothing."""

    def __getitem__(self, key: Any) -> None:
        return None

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __delitem__(self, key: Any) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def pop(self, key: Any, default: Any = None) -> Any:
        return default


def never_drop_messages(app: Any) -> None:
    """Install :class:`NoReadOffsets` on the app's consumer (creating the consumer)."""
    app.consumer._read_offset = NoReadOffsets()
