"""Fallback decision rules: what a deployment decides by when its kill switch is on.

A ``rules:`` node (DecisionRules, a PROV entity) holds an ordered list of rules, each a
condition on input features and the decision it gives, and the decision when none matches.
Like a dataset version it is content-addressed and immutable: registering the same ID with the
same content is a no-op, with other content a CONFLICT. The rules serving infrastructure applies
are the ones the routing document carries; :func:`decide` is their reference reading.

A condition maps a feature to comparisons, all of which must hold::

    {"when": {"income": {"gt": 50000}, "credit_score": {"gt": 650}}, "decision": "APPROVE"}

Comparisons: ``gt``, ``gte``, ``lt``, ``lte``, ``eq``, ``ne``, against a number. An input
missing from the request fails its comparisons, so the rule does not match.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from lineage.errors import LineageError, NotFoundError
from lineage.model.canonical import canonical_json, sha256_text
from lineage.model.graph import Node, NodeKind
from lineage.model.ids import require_kind
from lineage.model.record_fields import Instant, ModelId, Name, Number
from lineage.model.records import Record, parse_record
from lineage.model.times import to_text, utcnow
from lineage.services import consistency
from lineage.services.audit import append_event
from lineage.services.write_plan import Registration
from lineage.store.base import GraphStore

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "ne": operator.ne,
}
_FEATURE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$")


def _rules_id(value: str) -> str:
    try:
        require_kind(value, "id", NodeKind.DECISION_RULES)
    except LineageError as exc:  # reported by pydantic as this field's error
        raise ValueError(exc.message) from None
    return value


class Comparisons(Record):
    """What a feature's value is compared with; every one given must hold."""

    gt: Number | None = None
    gte: Number | None = None
    lt: Number | None = None
    lte: Number | None = None
    eq: Number | None = None
    ne: Number | None = None

    @model_validator(mode="after")
    def _some(self) -> Comparisons:
        if not self.model_dump(exclude_none=True):
            raise ValueError(f"give at least one comparison: {', '.join(_COMPARE)}")
        return self


def _features(value: dict[str, Comparisons]) -> dict[str, Comparisons]:
    for name in value:
        if not _FEATURE.match(name):
            raise ValueError(f"{name[:80]!r} is not a feature name")
    return value


class RuleRecord(Record):
    """One rule: every comparison in ``when`` holds -> ``decision``."""

    when: Annotated[dict[str, Comparisons], AfterValidator(_features), Field(min_length=1)]
    decision: Name


class DecisionRulesRecord(Record):
    """Fallback rules for a model's deployments, first matching rule wins."""

    id: Annotated[str, AfterValidator(_rules_id)]
    model: ModelId
    rules: list[RuleRecord] = Field(min_length=1, max_length=1_000)
    default_decision: Name
    description: str | None = Field(default=None, max_length=2_000)
    created_at: Instant | None = None


def content_of(rec: DecisionRulesRecord) -> dict[str, Any]:
    """What the rules' content hash covers: the model, the rules and the default."""
    return {
        "model": rec.model,
        "rules": [rule.model_dump(mode="json", exclude_none=True) for rule in rec.rules],
        "default_decision": rec.default_decision,
    }


def register_fallback_rules(
    store: GraphStore,
    actor: str,
    data: DecisionRulesRecord | Mapping[str, Any],
    reason: str = "register fallback rules",
) -> Registration:
    """Register immutable fallback rules for a model (see the module docstring).

    INVALID naming the field (``rules.0.when.income.gt``...) for malformed rules; NOT_FOUND
    (``model``) for a model that is not registered; CONFLICT for an ID registered with other
    content. Nothing is written in those cases; an identical registration is a no-op.
    """
    rec = parse_record(DecisionRulesRecord, data)
    content = content_of(rec)
    props = content | {"content_hash": sha256_text(canonical_json(content))}
    if rec.description is not None:
        props["description"] = rec.description
    with store.transaction():
        now = utcnow()
        node = Node(rec.id, NodeKind.DECISION_RULES, rec.created_at or now, props)
        consistency.require_agent(store, actor, now)
        found = store.get_nodes([rec.id, rec.model])
        old = found.get(rec.id)
        if old is not None:
            consistency.check_unchanged(old, node, compare_time=rec.created_at is not None)
            return Registration(node=old, created=False)
        model = found.get(rec.model)
        if model is None or model.kind is not NodeKind.MODEL:
            raise NotFoundError(f"{rec.model} is not a registered model", field="model")
        store.upsert_nodes([node])
        event = append_event(
            store,
            actor=actor,
            action="register_fallback_rules",
            reason=reason,
            nodes=[node],
            payload=rec.model_dump(mode="json") | {"created_at": to_text(node.valid_from)},
        )
    stored = store.get_nodes([rec.id])[rec.id]
    return Registration(node=stored, created=True, audit_seq=event.seq)


def decide(rules: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    """The decision ``rules`` (a DecisionRules node's props) give for ``inputs``."""
    for rule in rules.get("rules", []):
        if all(
            _holds(inputs.get(feature), comparison, bound)
            for feature, tests in rule["when"].items()
            for comparison, bound in tests.items()
        ):
            return str(rule["decision"])
    return str(rules["default_decision"])


def _holds(value: Any, comparison: str, bound: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return _COMPARE[comparison](value, bound)
