"""Prometheus text exposition of the services' metrics."""

from __future__ import annotations

from ndxp.metrics import Metrics


def test_counters_gauges_and_histograms_render_in_the_text_format() -> None:
    m = Metrics()
    messages = m.counter("ndxp_x_total", "Messages", ("outcome", "code"))
    messages.inc("routed", "")
    messages.inc("routed", "")
    messages.inc("rejected", 'FOR"BIDDEN')
    m.gauge("ndxp_lag", "Lag", ("topic",), lambda: [(("t",), 7.0)])
    h = m.histogram("ndxp_seconds", "Latency", buckets=(0.1, 1.0))
    for v in (0.05, 0.5, 0.5, 3.0):
        h.observe(v)
    text = m.render()
    assert "# TYPE ndxp_x_total counter" in text
    assert 'ndxp_x_total{outcome="routed",code=""} 2' in text
    assert 'ndxp_x_total{outcome="rejected",code="FOR\\"BIDDEN"} 1' in text
    assert 'ndxp_lag{topic="t"} 7' in text
    assert 'ndxp_seconds_bucket{le="0.1"} 1' in text
    assert 'ndxp_seconds_bucket{le="1"} 3' in text
    assert 'ndxp_seconds_bucket{le="+Inf"} 4' in text
    assert "ndxp_seconds_count 4" in text
    assert "ndxp_seconds_sum 4.05" in text
    assert text.endswith("\n")
