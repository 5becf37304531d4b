"""Answers nobody asked for: the population database (000.00.01.G01, granted to answer Nghệ An's
one-stop shop) writes N "responses" to Nghệ An's one-stop-shop system with correlation ids no
request carried, with no ticket, a made-up one, or the ticket of a real request of that client
(read where a provider reads it, on its own egress topic). Nghệ An then makes one real call
(the platform's simulator answers it) and the attacker answers that one too, echoing its real
ticket. Prints what reached Nghệ An's egress topic and what the ledger kept.

Run: cd docs/hostile-runs/round3 && ../../../.venv/bin/python unasked_answers.py [answers]
(on a platform of its own: see ../README.md; `NDXP_ROUTER_TICKETS=off make run` for "before")"""
import sys, time, uuid

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/round2")
from common import *  # noqa: E402,F403

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
CLIENT = "VN:GOV:000.00.00.H41:motcua"
PROVIDER_IN, PROVIDER_OUT, CLIENT_OUT = "ndxp.in.000.00.01.G01", "ndxp.out.000.00.01.G01", "ndxp.out.000.00.00.H41"
tag = uuid.uuid4().hex[:8]


def answer(mid, corr, ticket):
    h = {"ndxp-id": mid, "ndxp-kind": "response", "ndxp-client": CLIENT, "ndxp-service": POP,
         "ndxp-correlation-id": corr}
    if ticket is not None:
        h["ndxp-ticket"] = ticket
    return hdrs(h)


p = producer(**{"linger.ms": 20, "compression.type": "zstd"})
# a real request of the client first: its copy's ticket, as the provider reads it
calls = tap([PROVIDER_OUT])
asked = f"{tag}-asked"
p.produce("ndxp.in.000.00.00.H41", key=CLIENT.encode(), value=b"{}", headers=request(asked, CLIENT, POP))
p.flush()
got = collect(calls, 30, lambda ms: any(h(m, "ndxp-id") == asked for m in ms))
real_ticket = next((h(m, "ndxp-ticket") for m in got if h(m, "ndxp-id") == asked), None)
print(f"the real request's copy carries ndxp-ticket: {real_ticket}")
client_tap = tap([CLIENT_OUT])
t0 = time.time()
for n in range(N):
    ticket = (None, "t1." + uuid.uuid4().hex, real_ticket)[n % 3]
    p.produce(PROVIDER_IN, key=CLIENT.encode(), value=b'{"ho_ten": "invented"}',
              headers=answer(f"{tag}-u{n}", f"{tag}-never-{n}", ticket))
    if n % 5000 == 0:
        p.poll(0)
p.flush()
print(f"{N:,} unasked answers written in {time.time() - t0:.1f} s")
call = f"{tag}-call"  # the clerk's real call: the simulator answers it, and so does the attacker
calls2 = tap([PROVIDER_OUT])
p.produce("ndxp.in.000.00.00.H41", key=CLIENT.encode(), value=b"{}", headers=request(call, CLIENT, POP))
p.flush()
got = collect(calls2, 30, lambda ms: any(h(m, "ndxp-id") == call for m in ms))
call_ticket = next((h(m, "ndxp-ticket") for m in got if h(m, "ndxp-id") == call), None)
p.produce(PROVIDER_IN, key=CLIENT.encode(), value=b'{"ho_ten": "a second answer"}',
          headers=answer(f"{tag}-again", call, call_ticket))
p.flush()
arrived = collect(client_tap, 60 + N / 2000,
                  lambda ms: sum(1 for m in ms if (h(m, "ndxp-correlation-id") or "").startswith(f"{tag}-")) >= N + 2)
unasked = [m for m in arrived if (h(m, "ndxp-correlation-id") or "").startswith(f"{tag}-never-") and h(m, "ndxp-kind") == "response"]
to_call = [m for m in arrived if h(m, "ndxp-correlation-id") == call and h(m, "ndxp-kind") == "response"]
print(f"on Nghệ An's egress topic: {len(unasked):,} of the {N:,} unasked answers; "
      f"{len(to_call)} answers to its real call")
time.sleep(10)  # the ledger's batches
print("the unasked answers in the ledger (outcome, error, rows):")
print(sql(f"SELECT outcome, error, count() FROM ndxp.ledger WHERE startsWith(message_id, '{tag}-u') GROUP BY outcome, error ORDER BY outcome, error"))
print("the real call's answers in the ledger:")
print(sql(f"SELECT message_id, outcome, error FROM ndxp.ledger WHERE kind = 'response' AND correlation_id = '{call}' ORDER BY message_id"))
