"""``ndxp bench``: placeholder, filled in below."""

from typing import Any


def register(sub: Any) -> None:
    pass
