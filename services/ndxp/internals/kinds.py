"""The kinds of expectation ndxp has of a library's internals (:mod:`ndxp.internals`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Distribution:
    """A distribution as pip knows it, the exact version verified, and its import name (an
    expectation belongs to the package whose module defines its target)."""

    name: str
    version: str
    package: str


@dataclass(frozen=True)
class Method:
    """A function or method with this shape: ``def(self, tp)``, ``async def(self)``,
    ``async generator(self, timeout)``; ``=`` marks a parameter with a default, a lone ``*``
    the start of keyword-only parameters."""

    target: str  # "module:Class.method" (or "module:function")
    shape: str
    user: str  # who relies on it, and how: "router/outbox.py calls it ..."


@dataclass(frozen=True)
class Attribute:
    """A class attribute, property or method that must exist."""

    target: str  # "module:Class.name"
    user: str


@dataclass(frozen=True)
class Assigned:
    """An instance attribute, set by a method (``__init__`` mostly): its source must contain
    ``self.<name> =`` (or ``self.<name> = <value>``, when ndxp relies on the value's type)."""

    target: str  # "module:Class.__init__"
    name: str
    user: str
    value: str = ""


@dataclass(frozen=True)
class Calls:
    """A call site that ndxp relies on: the function's source must contain ``code``
    (whitespace is ignored)."""

    target: str
    code: str
    user: str


Expectation = Method | Attribute | Assigned | Calls
