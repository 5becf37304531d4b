"""How a simulated receiving agency handles a document: the statuses it reports and when
(issue 14, item 5; ``ndxp simulate --documents``).

A clerk's office on the document axis registers an incoming document within minutes (``01``),
accepts it within hours (``03``) or refuses it as not its business (``02``, a few in a
hundred), assigns it to a department (``04``), which works on it (``05``) and finishes it in a
few days (``06``). Each step's delay is log-normal around those medians. A recall (``13``) is
answered within minutes, accepted (``15``) unless the document is already being worked on,
when it is refused (``16``) one time in five.

Pure: a random source and a state in, the plan out; :data:`SPEED` compresses days into
seconds for a demo or a test.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ndxp.core.document_status import State, Status

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
# (status, median delay after the previous step, log-normal sigma)
STEPS: tuple[tuple[Status, float, float], ...] = (
    (Status.ARRIVED, 5 * MINUTE, 0.8),
    (Status.ACCEPTED, 2 * HOUR, 0.8),
    (Status.ASSIGNED, 4 * HOUR, 0.8),
    (Status.PROCESSING, 1 * DAY, 0.6),
    (Status.DONE, 2 * DAY, 0.6),
)
REFUSE_SHARE = 0.03
REFUSE_REASON = "không thuộc thẩm quyền xử lý"  # not within this agency's competence
RECALL_ANSWER = (5 * MINUTE, 0.8)
RECALL_REFUSE_SHARE = 0.2  # of recalls of a document already being worked on
SPEED = 10_000.0  # a simulated day in 8.6 s: a document done in about half a minute


@dataclass(frozen=True, slots=True)
class Step:
    after_s: float  # seconds after the previous step (already divided by the speed)
    status: Status
    reason: str | None = None


FRESH = State()  # delivered, nothing reported yet


def plan(rng: random.Random, since: State = FRESH, speed: float = SPEED) -> list[Step]:
    """The statuses still to report for a document in state ``since`` (a fresh delivery: all
    of them), each with its delay; a refused document stops at ``02``; a closed one or one
    with a recall pending has nothing left (the recall's answer is planned apart). Every
    step's draws are made whatever ``since`` is, so a generator seeded per delivery
    (:func:`delivery_rng`) makes the same decisions when a restarted agency plans again from
    where the delivery stands."""
    if since.closed or since.recall is not None or since.step in (Status.DONE, Status.REFUSED):
        return []
    done = {s for s, _, _ in STEPS[: _index(since.step) + 1]} if since.step else set()
    out: list[Step] = []
    for status, median, sigma in STEPS:
        delay = _lognormal(rng, median, sigma) / speed
        refuse = rng.random() < REFUSE_SHARE
        if status in done:
            continue
        if status is Status.ACCEPTED and refuse:
            out.append(Step(delay, Status.REFUSED, REFUSE_REASON))
            return out
        out.append(Step(delay, status))
    return out


def delivery_rng(seed: int | str, key: str, what: str = "walk") -> random.Random:
    """The random source of one delivery's walk (or of the answer to its ``n``-th recall):
    the same for a given seed whatever else the agency did."""
    return random.Random(f"{seed}|{key}|{what}")


def answer_recall(rng: random.Random, state: State, speed: float = SPEED) -> Step:
    """The answer to a recall of a document in ``state``."""
    delay = _lognormal(rng, *RECALL_ANSWER) / speed
    working = state.step in (Status.ASSIGNED, Status.PROCESSING, Status.DONE)
    if working and rng.random() < RECALL_REFUSE_SHARE:
        return Step(delay, Status.RECALL_REFUSED, "văn bản đã được xử lý")  # already handled
    return Step(delay, Status.RECALL_ACCEPTED)


def _index(step: Status | None) -> int:
    order = [s for s, _, _ in STEPS]
    if step is Status.REFUSED:
        return order.index(Status.ACCEPTED)
    return -1 if step is None else order.index(step)


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))
