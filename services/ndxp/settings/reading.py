"""Reading a service's settings: its defaults, then the environment (names in :mod:`ndxp.env`),
then the command's flags; a value ndxp does not know is refused in one line."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, cast

from ndxp.core.errors import NdxpError
from ndxp.kafka.auth import KafkaAuth
from ndxp.paths import REPO

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_REGISTRY_TOPIC = "ndxp.registry"
DEFAULT_VAR = REPO / "var"


class SettingsError(NdxpError, ValueError):
    """A setting with a value ndxp does not know (the CLI prints it on one line, exit 2)."""


_E = TypeVar("_E", bound=enum.StrEnum)
_S = TypeVar("_S", bound="DataclassInstance")


def mode(kind: type[_E], value: object, var: str) -> _E:
    """``value`` as a member of ``kind``, or a refusal naming the variable and the values."""
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise SettingsError(f"{var} must be one of {allowed}, not {value!r}") from None


class FromEnv:
    """A service's settings, read from the environment: ``ENVIRONMENT`` names the variable of
    each field it reads (a frozen dataclass whose fields all have defaults)."""

    ENVIRONMENT: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Self:
        """The defaults, then the environment (``os.environ`` unless given), then the
        non-``None`` ``overrides`` (the command's flags)."""
        base = cast(Any, cls)()
        return cast(Self, from_env(base, cls.ENVIRONMENT, environ, overrides))


def from_env(
    base: _S,
    names: Mapping[str, str],
    environ: Mapping[str, str] | None,
    overrides: Mapping[str, object],
) -> _S:
    """``base`` with each field named in ``names`` read from its environment variable
    (converted to the default's type), then the non-``None`` ``overrides`` (CLI flags)."""
    e = os.environ if environ is None else environ
    changes: dict[str, object] = {}
    for name, var in names.items():
        text = e.get(var)
        if text is not None:
            changes[name] = _convert(getattr(base, name), text)
    changes["auth"] = KafkaAuth.from_env(e)
    changes.update({k: v for k, v in overrides.items() if v is not None})
    return replace(base, **changes)


def _convert(default: object, text: str) -> object:
    if isinstance(default, bool):
        return text.strip().lower() in ("on", "1", "true", "yes")
    if isinstance(default, Path):
        return Path(text)
    if isinstance(default, int | float):
        return type(default)(text)
    return text
