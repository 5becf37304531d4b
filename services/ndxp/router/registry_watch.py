"""Picks up a changed registry file while the router runs.

A file that fails validation is refused with every error logged, and the registry in force
stays. (The next issue moves the source to a compacted Kafka topic; the swap is the same.)
"""

from __future__ import annotations

import logging
from pathlib import Path

from ndxp.core.registry import Registry, RegistryError
from ndxp.registry_file import load_registry

log = logging.getLogger("ndxp.registry")


class RegistryWatch:
    def __init__(self, path: Path, current: Registry) -> None:
        self.path = path
        self.current = current
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def poll(self) -> Registry | None:
        """The new registry if the file changed and is valid, else ``None``."""
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            registry = load_registry(self.path)
        except RegistryError as exc:
            log.error(
                "registry %s refused, keeping version %s: %s", self.path, self.current.version, exc
            )
            return None
        log.info("registry %s: version %s -> %s", self.path, self.current.version, registry.version)
        self.current = registry
        return registry
