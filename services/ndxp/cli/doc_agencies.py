"""``ndxp simulate --documents``: receiving agencies that handle the documents routed to them,
reporting each step back (issue 14, item 5).

For each document copy on a member's egress topic (once per document and receiver, however
many copies arrive) the agency reports the statuses :func:`ndxp.core.document_walk.plan` gives,
each after its delay, from the member's client subsystem on its ingress topic; a recall (13)
routed to it is answered (15 or 16, :func:`ndxp.core.document_walk.answer_recall`), its walk
stopped while it waits.

Across a restart nothing in flight is forgotten: at start the agencies read the document state
topic (each delivery's latest state, compacted) and go on from where every unfinished delivery
to their members stands; then they read their members' egress topics from the beginning
(the group only shares partitions among agency processes: no offsets are committed), passing
over the deliveries the state topic knows and walking the others from the start. The state
topic is written when the router commits, so it can be a moment behind: a delivery walked
again that way has the same decisions (each delivery's draws are seeded by it), and the
statuses it had already reported are refused by the router (``STATUS_REPEATED`` or
``STATUS_OUT_OF_ORDER``) and change nothing. (A first version committed the copies' offsets:
after a kill -9 on a busy box, deliveries whose copies were committed but whose state had not
reached the topic yet were never walked on.)
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from ndxp.core import wire
from ndxp.core.agency import AgencyCode
from ndxp.core.delivery_state import state_of
from ndxp.core.document import H_DOC_ID, delivery_key, document_client
from ndxp.core.document_status import H_DOC_REASON, H_DOC_STATUS, Party, State, Status, advance
from ndxp.core.document_walk import Step, answer_recall, delivery_rng, plan
from ndxp.core.errors import InvalidIdentifier
from ndxp.core.identifiers import MemberId
from ndxp.core.package import PACKAGE_HEADERS, InvalidPackage, read_part
from ndxp.core.registry import Registry
from ndxp.core.topology import doc_state_topic
from ndxp.core.wire import header
from ndxp.kafka.io import producer, read_whole
from ndxp.settings import ClientSettings

log = logging.getLogger("ndxp.simulate.documents")


class Agencies:
    """The simulated receiving agencies of some members: what each delivery's walk is at."""

    def __init__(self, registry: Registry, members: list[str], speed: float, seed: int) -> None:
        self.registry = registry
        self.members = set(members)
        self.speed = speed
        self.seed = seed
        self.recalls: dict[str, int] = {}  # recalls answered, by delivery (the answers' draws)
        self.parts: dict[str, set[int]] = {}  # parts of packages not yet whole, by delivery
        self.states: dict[str, State] = {}
        self.walks: dict[str, asyncio.Task[None]] = {}
        self.sent = 0
        self.clients = {m: document_client(registry, m) for m in members}

    def route_of(self, receiver: str) -> str | None:
        """The member (of ours) whose egress topic a receiver's copies go to."""
        try:
            member = MemberId(self.registry.instance, "GOV", AgencyCode.parse(receiver))
        except InvalidIdentifier:
            return None
        route = self.registry.route_for(member) if member in self.registry.members else None
        code = None if route is None else str(route.code)
        return code if code in self.members else None


async def run(args: Any, group: str, registry: Registry, members: list[str]) -> int:
    settings = ClientSettings.from_env(bootstrap=args.bootstrap)
    agencies = Agencies(registry, members, args.speed, args.seed)
    p = producer(settings.bootstrap, settings.auth, linger_ms=5)
    await p.start()
    resumed = await resume(agencies, p, settings)
    consumer = AIOKafkaConsumer(
        *[wire.egress_topic(m) for m in members],
        bootstrap_servers=settings.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",  # nothing is committed: every start reads from the start
        enable_auto_commit=False,
        **settings.auth.aiokafka(),
    )
    await consumer.start()
    log.info(
        "receiving documents for %d member(s) at %g× real time; %d deliveries resumed",
        len(members),
        agencies.speed,
        resumed,
    )
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    on_record(agencies, p, r)
            if batch:
                await p.flush()
    finally:
        for task in agencies.walks.values():
            task.cancel()
        await consumer.stop()
        await p.stop()


async def resume(agencies: Agencies, p: Any, settings: ClientSettings) -> int:
    """Go on with every unfinished delivery to our members the state topic knows."""
    latest: dict[str, dict[str, Any] | None] = {}
    try:
        topic = doc_state_topic(settings.router_group)
        async for r in read_whole(settings.bootstrap, topic, settings.auth):
            if r.key is not None:
                latest[r.key.decode("utf-8", "replace")] = (
                    None if r.value is None else orjson.loads(r.value)
                )
    except Exception as exc:  # no state topic yet (no router ran): nothing to resume
        log.info("no document state to resume (%s)", exc)
        return 0
    resumed = 0
    for key, record in latest.items():
        doc_id, _, receiver = key.rpartition("|")
        if not record or not record.get("d") or agencies.route_of(receiver) is None:
            continue
        state = state_of(record)
        agencies.states[key] = state  # its copies, read again, are not new
        if state.recall is Status.RECALL:
            start_walk(agencies, p, doc_id, receiver, [recall_answer(agencies, key, state)])
            resumed += 1
        elif steps := plan(delivery_rng(agencies.seed, key), state, agencies.speed):
            start_walk(agencies, p, doc_id, receiver, steps)
            resumed += 1
    return resumed


def on_record(agencies: Agencies, p: Any, r: Any) -> None:
    h = list(r.headers)
    kind = header(h, wire.H_KIND)
    doc_id, receiver = header(h, H_DOC_ID) or "", header(h, wire.H_DOC_RECEIVER) or ""
    key = delivery_key(doc_id, receiver)
    if kind == wire.KIND_DOCUMENT:
        if key in agencies.states:
            return  # a copy written again (a router crash mid fan-out): had it already
        try:
            part = read_part({n: v for n in PACKAGE_HEADERS if (v := header(h, n)) is not None})
        except InvalidPackage:  # the router checked them: not from it
            return
        if part is not None:  # a package in parts: handled once every part is here
            have = agencies.parts.setdefault(key, set())
            have.add(part.index)
            if len(have) < part.count:
                return
            del agencies.parts[key]
        agencies.states[key] = State()
        steps = plan(delivery_rng(agencies.seed, key), State(), agencies.speed)
        start_walk(agencies, p, doc_id, receiver, steps)
    elif kind == wire.KIND_STATUS and header(h, H_DOC_STATUS) == Status.RECALL.value:
        state = agencies.states.get(key, State())
        walk = agencies.walks.pop(key, None)
        if walk is not None:
            walk.cancel()
        agencies.states[key] = State(state.step, Status.RECALL)
        start_walk(agencies, p, doc_id, receiver, [recall_answer(agencies, key, state)])


def recall_answer(agencies: Agencies, key: str, state: State) -> Step:
    n = agencies.recalls[key] = agencies.recalls.get(key, 0) + 1
    return answer_recall(delivery_rng(agencies.seed, key, f"recall {n}"), state, agencies.speed)


def start_walk(agencies: Agencies, p: Any, doc_id: str, receiver: str, steps: list[Step]) -> None:
    key = delivery_key(doc_id, receiver)
    agencies.walks[key] = asyncio.create_task(walk(agencies, p, doc_id, receiver, steps))


async def walk(agencies: Agencies, p: Any, doc_id: str, receiver: str, steps: list[Step]) -> None:
    """Report each step after its delay; after a refused recall, go on with the rest."""
    key = delivery_key(doc_id, receiver)
    route = agencies.route_of(receiver)
    try:
        while route is not None and steps:
            for step in steps:
                await asyncio.sleep(step.after_s)
                await report(agencies, p, route, doc_id, receiver, step)
                moved = advance(agencies.states.get(key, State()), step.status, Party.RECEIVER)
                if isinstance(moved, State):
                    agencies.states[key] = moved
            refused_recall = steps[-1].status is Status.RECALL_REFUSED
            steps = (
                plan(delivery_rng(agencies.seed, key), agencies.states[key], agencies.speed)
                if refused_recall
                else []
            )
    finally:
        if agencies.walks.get(key) is asyncio.current_task():
            del agencies.walks[key]


async def report(
    agencies: Agencies, p: Any, route: str, doc_id: str, receiver: str, step: Step
) -> None:
    client = agencies.clients[route]
    headers = [
        (wire.H_ID, str(uuid.uuid4())),
        (wire.H_KIND, wire.KIND_STATUS),
        (wire.H_CLIENT, client),
        (H_DOC_ID, doc_id),
        (wire.H_DOC_RECEIVER, receiver),
        (H_DOC_STATUS, step.status.value),
        (wire.H_SENT_AT, str(int(time.time() * 1000))),
    ]
    if step.reason:
        headers.append((H_DOC_REASON, step.reason))
    encoded = [(k, v.encode()) for k, v in headers]
    await p.send(wire.ingress_topic(route), b"", key=client.encode(), headers=encoded)
    agencies.sent += 1
