"""The sample registry is generated: ``infra/registry/make_sample.py`` writes exactly the
committed ``vn-sample.json`` (a hand edit to the file would be lost at the next run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ndxp.paths import DEFAULT_REGISTRY, REPO


def test_make_sample_writes_the_committed_file(tmp_path: Path) -> None:
    script = REPO / "infra" / "registry" / "make_sample.py"
    copy = tmp_path / "make_sample.py"
    copy.write_bytes(script.read_bytes())  # it writes beside itself: run a copy elsewhere
    subprocess.run([sys.executable, str(copy)], check=True, capture_output=True)
    assert (tmp_path / "vn-sample.json").read_bytes() == DEFAULT_REGISTRY.read_bytes()


def test_the_rest_apis_are_in_the_sample_and_granted_to_nghe_an_only() -> None:
    from ndxp.registry_file import load_registry

    registry = load_registry(DEFAULT_REGISTRY)
    assert sorted(registry.endpoints) == [
        "VN:GOV:000.00.00.H40:api",
        "VN:GOV:000.00.00.H41:api",
        "VN:GOV:000.00.01.G01:api",
        "VN:GOV:000.00.18.G12:api",
    ]
    nghe_an = registry.subsystems["VN:GOV:000.00.00.H41:motcua"]
    other = registry.subsystems["VN:GOV:000.00.00.H42:motcua"]
    for service in registry.services:
        if ":api:" in service:
            assert registry.allowed(service, nghe_an) and not registry.allowed(service, other)
