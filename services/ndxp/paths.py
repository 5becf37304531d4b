"""Where things are in the repository (the settings' defaults, the schemas, the tools)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REGISTRY = REPO / "infra" / "registry" / "vn-sample.json"
