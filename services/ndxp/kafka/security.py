"""Secured mode on the broker: SCRAM users and ACLs, applied through the Admin API.

The decisions are pure (:mod:`ndxp.core.acl`); this module only talks to the broker, with
confluent-kafka's AdminClient (aiokafka has no ACL or SCRAM calls), as a super user
(``ndxp-admin``: ``NDXP_KAFKA_USER`` / ``NDXP_KAFKA_PASSWORD_FILE``). Passwords are random,
one file per user in the secrets folder (mode 0600), created when missing and never printed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ndxp.core.acl import SUPER_USERS, AclEntry, Operation, PatternType, ResourceType
from ndxp.core.errors import NdxpError
from ndxp.kafka.auth import KafkaAuth

SCRAM_MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 4096  # Kafka's minimum and kafka-configs' default
TIMEOUT_S = 30.0


def password_file(secrets_dir: Path, user: str) -> Path:
    return secrets_dir / f"{user}.password"


def ensure_password(path: Path) -> tuple[str, bool]:
    """The password in ``path``, generated (random, file mode 0600, folder 0700) if the file
    does not exist yet; and whether it was generated now."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            raise NdxpError(f"{path} is empty: remove it to have a new password made") from None
        return text, False
    password = secrets.token_hex(24)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(password + "\n")
    return password, True


def admin_client(bootstrap: str, auth: KafkaAuth) -> Any:
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:  # pragma: no cover - installed by `make setup` (extra "load")
        raise NdxpError("secured mode needs confluent-kafka: pip install 'ndxp[load]'") from None
    return AdminClient({"bootstrap.servers": bootstrap, **auth.confluent()})


@dataclass(frozen=True)
class UsersResult:
    upserted: list[str]
    new_passwords: list[str]  # users whose password file was made now
    deleted: list[str]


def apply_users(
    bootstrap: str,
    auth: KafkaAuth,
    names: Iterable[str],
    secrets_dir: Path,
    prune: bool = False,
) -> UsersResult:
    """Give every user in ``names`` a SCRAM-SHA-512 credential with the password in its file
    (made if missing). Upserting an existing user again is harmless (a new salt, same
    password), so this also repairs a broker whose credentials were lost. ``prune`` deletes
    the SCRAM credentials of users not in ``names`` (super users are never touched)."""
    from confluent_kafka.admin import (
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialDeletion,
        UserScramCredentialUpsertion,
    )

    admin = admin_client(bootstrap, auth)
    wanted = list(dict.fromkeys(names))
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    alterations: list[Any] = []
    made: list[str] = []
    for name in wanted:
        password, new = ensure_password(password_file(secrets_dir, name))
        if new:
            made.append(name)
        alterations.append(UserScramCredentialUpsertion(name, info, password.encode()))
    deleted: list[str] = []
    if prune:
        described = admin.describe_user_scram_credentials(request_timeout=TIMEOUT_S)
        existing = _result(described, "describe SCRAM users")
        for name in sorted(set(existing) - set(wanted) - set(SUPER_USERS)):
            alterations.append(UserScramCredentialDeletion(name, ScramMechanism.SCRAM_SHA_512))
            deleted.append(name)
    if alterations:
        futures = admin.alter_user_scram_credentials(alterations, request_timeout=TIMEOUT_S)
        for name, future in futures.items():
            _result(future, f"set the SCRAM credential of {name}")
    return UsersResult(wanted, made, deleted)


@dataclass(frozen=True)
class AclsResult:
    created: list[AclEntry]
    deleted: list[str]  # descriptions of the ACLs removed (prune)
    kept: int


def apply_acls(
    bootstrap: str, auth: KafkaAuth, entries: Iterable[AclEntry], prune: bool = False
) -> AclsResult:
    """Create the ACLs in ``entries`` that the broker does not have yet; with ``prune``,
    delete every ALLOW/DENY binding on the broker that is not among them."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
    )
    from confluent_kafka.admin import ResourceType as KResourceType

    admin = admin_client(bootstrap, auth)
    # None matches any name, principal and host (confluent-kafka's documented filter; its
    # annotations say str)
    everything = AclBindingFilter(
        KResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    existing = _result(admin.describe_acls(everything, request_timeout=TIMEOUT_S), "list ACLs")
    have = {_key(b): b for b in existing}
    wanted = {_key(_binding(e)): e for e in entries}
    missing = [e for k, e in sorted(wanted.items()) if k not in have]
    if missing:
        futures = admin.create_acls([_binding(e) for e in missing], request_timeout=TIMEOUT_S)
        for binding, future in futures.items():
            _result(future, f"create ACL {binding}")
    deleted: list[str] = []
    if prune:
        extra = [b for k, b in sorted(have.items()) if k not in wanted]
        if extra:
            filters = [
                AclBindingFilter(
                    b.restype,
                    b.name,
                    b.resource_pattern_type,
                    b.principal,
                    b.host,
                    b.operation,
                    b.permission_type,
                )
                for b in extra
            ]
            futures = admin.delete_acls(filters, request_timeout=TIMEOUT_S)
            for _, future in futures.items():
                _result(future, "delete ACL")
            deleted = [str(b) for b in extra]
    return AclsResult(missing, deleted, len(wanted) - len(missing))


def _binding(e: AclEntry) -> Any:
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
    )
    from confluent_kafka.admin import ResourceType as KResourceType

    restype = {ResourceType.TOPIC: KResourceType.TOPIC, ResourceType.GROUP: KResourceType.GROUP}
    pattern = {
        PatternType.LITERAL: ResourcePatternType.LITERAL,
        PatternType.PREFIXED: ResourcePatternType.PREFIXED,
    }
    operation = {
        Operation.READ: AclOperation.READ,
        Operation.WRITE: AclOperation.WRITE,
        Operation.DESCRIBE: AclOperation.DESCRIBE,
        Operation.CREATE: AclOperation.CREATE,
    }
    return AclBinding(
        restype[e.resource_type],
        e.resource_name,
        pattern[e.pattern_type],
        e.principal,
        "*",
        operation[e.operation],
        AclPermissionType.ALLOW,
    )


def _key(b: Any) -> tuple[str, ...]:
    return (
        b.restype.name,
        b.name,
        b.resource_pattern_type.name,
        b.principal,
        b.host,
        b.operation.name,
        b.permission_type.name,
    )


def _result(future: Any, what: str) -> Any:
    try:
        return future.result()
    except Exception as exc:
        raise NdxpError(f"cannot {what}: {exc}") from None
