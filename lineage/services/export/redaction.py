"""Redaction of personal identifiers in the decision records an evidence bundle carries.

A decision's data subject is named by a field of the decision and its value, as erasure names
it (``applicant_id=john_doe_12345``, :class:`lineage.services.retention_erasure.Subject`). A
redacted bundle replaces the value of every identifying field by a keyed hash of that same
``field=value`` text: ``hmac-sha256:<hex>``, HMAC-SHA256 under a key the service keeps. The
same subject gets the same pseudonym across batches and bundles (a regulator can follow one
applicant), nobody without the key can confirm a guess, and the service, holding the key, can
answer a subject-access request about a bundle. The key never leaves the service: the manifest
records the method, the fields and a key identifier (an HMAC of a fixed text, not the key).

Lines an erasure already replaced (``{"erased_sha256": ...}``) carry no identifier and are
kept as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lineage.errors import InvalidError, UnavailableError
from lineage.model.canonical import canonical_json
from lineage.services.erased_records import ERASED_KEY
from lineage.services.subject_index import identifies

METHOD = "HMAC-SHA256"
PREFIX = "hmac-sha256:"
KEY_FILE = ".export-redaction.key"  # in the record store's root, mode 0600
# Fields that name or reach a person beyond the subject identifiers the subject index keys on
# (``subject`` and ``*_id``, the way erasure addresses subjects: ``applicant_id``): direct
# identifiers a decision record may carry.
IDENTIFYING = frozenset(
    {
        "id",
        "name",
        "full_name",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address",
        "ip_address",
        "date_of_birth",
        "ssn",
        "national_id",
        "passport_number",
        "account_number",
    }
)


def is_identifying(field: str) -> bool:
    """Whether a decision record's field is a personal identifier: a subject identifier (see
    :func:`lineage.services.subject_index.identifies`) or a direct one."""
    return field in IDENTIFYING or identifies(field)


class Redactor:
    """Replaces personal identifiers by keyed hashes; counts what it replaced per field."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise InvalidError("the redaction key must be at least 16 bytes", field="key")
        self._key = key
        self.replaced: dict[str, int] = {}

    @property
    def key_id(self) -> str:
        """Identifies the key without revealing it: HMAC of a fixed text, 16 hex digits."""
        return hmac.new(self._key, b"lineage export key id", hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, field: str, value: Any) -> str:
        """The keyed hash of ``field=value`` (the value as text, as erasure matches it)."""
        text = value if isinstance(value, str) else canonical_json(value)
        digest = hmac.new(self._key, f"{field}={text}".encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest

    def record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The decision with its identifying fields replaced."""
        if ERASED_KEY in record:
            return dict(record)
        out: dict[str, Any] = {}
        for field, value in record.items():
            if is_identifying(field) and value is not None:
                out[field] = self.pseudonym(field, value)
                self.replaced[field] = self.replaced.get(field, 0) + 1
            else:
                out[field] = value
        return out

    def describe(self) -> dict[str, Any]:
        """What the manifest says of the redaction (never the key)."""
        return {
            "method": METHOD,
            "applies_to": "decision records (decisions/*.jsonl)",
            "message": "field=value",
            "output": PREFIX + "<hex>",
            "identifying_fields": "subject, any field named *_id, and "
            + ", ".join(sorted(IDENTIFYING)),
            "replaced": dict(sorted(self.replaced.items())),
            "key_id": self.key_id,
        }


def redaction_key(configured: str | None, records_root: Path) -> bytes:
    """The service's redaction key: ``configured`` (LINEAGE_EXPORT_REDACTION_KEY) when set,
    else the key file in the record store's root, created once with mode 0600."""
    if configured:
        return configured.encode("utf-8")
    path = records_root / KEY_FILE
    try:
        if path.is_file():
            return path.read_bytes().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        key = secrets.token_hex(32).encode()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        return key
    except FileExistsError:
        return path.read_bytes().strip()
    except OSError as exc:
        raise UnavailableError(
            f"the redaction key {path} cannot be read or created: {exc.strerror}", field="redact"
        ) from exc
