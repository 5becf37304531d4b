"""A started service's heap, kept out of the cyclic collector's way.

CPython's full collection walks every tracked object. A router holds ~80,000 once its modules
are imported and its app is built (Faust, aiokafka, mode, the registry), and a full collection
of them stopped its agents for 28-42 ms a few times a minute in a round-trip run at 5 req/s
(``gc.callbacks`` timing in the router): a round trip that met one paid it whole. What a
service built to start lives as long as the process, so :func:`settle` collects once and then
freezes it (``gc.freeze``, Python 3.7+): later collections walk only what the service made
since. The router, the simulator, the gateway and the provider adapter each settle once
started and before they say they serve (the line their supervisors wait for). Nothing is
freed that would have been: frozen objects were reachable when frozen, and a cycle among them
that dies later stays until the process ends (a service builds its app once)."""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect, then freeze what survives: call once a service has built what it runs on."""
    gc.collect()
    gc.freeze()
