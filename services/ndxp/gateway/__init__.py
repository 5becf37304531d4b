"""``ndxp gateway``: the X-Road Message Protocol for REST in front of the Kafka backbone, for
members without a Kafka client. A call (``/r1/…``) becomes a request on the client member's
ingress topic (:mod:`.calls`); its answer comes back on the member's egress topic, read by one
consumer per gateway process and matched by ``ndxp-correlation-id`` (:mod:`.replies`); the
registry answers the metaservices (:mod:`.metaservices`). The rules are :mod:`ndxp.core.xroad`."""
