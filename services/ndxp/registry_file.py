"""Loading a registry file: JSON Schema first (every structural error), then the core's checks."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema

from ndxp.core.registry import Registry, RegistryError
from ndxp.paths import REPO

SCHEMA_PATH = REPO / "schemas" / "registry.schema.json"


def load_registry(path: Path | str) -> Registry:
    """Read, validate and build a registry; :class:`RegistryError` lists every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError([f"{path}: cannot read: {exc.strerror}"]) from None
    return parse_registry(text, str(path))


def parse_registry(text: str | bytes, source: str = "<registry>") -> Registry:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise RegistryError([f"{source}: not JSON: {exc}"]) from None
    problems = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if problems:
        raise RegistryError([f"{_path(e.absolute_path)}: {e.message}" for e in problems])
    return Registry.from_document(document)


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    """Built once per process: every reload and every published version is checked."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _path(parts: object) -> str:
    out = "$"
    for p in parts:  # type: ignore[attr-defined]
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out
