"""An execution context that completes plain objects in one loop.

An ``impact`` answer of 1,000 nodes and 1,700 edges is some 2,700 objects and 7,000 leaf fields.
graphql-core completes each field through its general machinery (path objects, argument
coercion, awaitable checks, per-field error wrapping), which cost more than the graph walk
itself (measured in bench/README.md). For an object whose selected fields are all
argument-free, directive-free scalars or enums, this context resolves and serialises them in
one tight loop from a plan cached per (type, selection). Anything else, and any error, goes
through graphql-core's own path, so answers and errors are exactly what the default gives
(``tests/api/test_leaves.py`` compares them on every saved query).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.pyutils import Path

# (response key, resolver or None for __typename, serialiser or the type name, non-null)
Step = tuple[str, Callable[..., Any] | None, Any, bool]


class _Fallback(Exception):
    """A value the fast loop does not handle: let graphql-core complete the object."""


class LeafBatchingContext(ExecutionContext):
    """graphql-core's ExecutionContext with a fast path for objects of leaf fields only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[GraphQLObjectType, int], list[Step] | None] = {}

    def _plan(
        self, return_type: GraphQLObjectType, field_nodes: list[FieldNode]
    ) -> list[Step] | None:
        if len(field_nodes) != 1:
            return None
        key = (return_type, id(field_nodes[0]))
        if key in self._plans:
            return self._plans[key]
        steps = self._leaf_steps(return_type, field_nodes)
        self._plans[key] = steps
        return steps

    def _leaf_steps(
        self, return_type: GraphQLObjectType, field_nodes: list[FieldNode]
    ) -> list[Step] | None:
        """The steps completing this selection, or None if a field is not a plain leaf."""
        steps: list[Step] = []
        for response_key, nodes in self.collect_subfields(return_type, field_nodes).items():
            node = nodes[0]
            if len(nodes) != 1 or node.arguments or node.directives or node.selection_set:
                return None
            name = node.name.value
            if name == "__typename":
                steps.append((response_key, None, return_type.name, False))
                continue
            field = return_type.fields.get(name)
            if field is None or not is_leaf_type(get_named_type(field.type)):
                return None
            leaf: Any = get_named_type(field.type)
            resolve = field.resolve or self.field_resolver
            steps.append((response_key, resolve, leaf.serialize, is_non_null_type(field.type)))
        return steps

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """Complete ``result`` in one loop when its selection is all plain leaves."""
        plan = None if return_type.is_type_of else self._plan(return_type, field_nodes)
        if plan is None:
            return super().complete_object_value(return_type, field_nodes, info, path, result)
        out: dict[str, Any] = {}
        try:
            for key, resolve, serialize, non_null in plan:
                if resolve is None:
                    out[key] = serialize
                    continue
                value = resolve(result, info)
                if value is None:
                    if non_null:
                        raise _Fallback
                    out[key] = None
                else:
                    out[key] = serialize(value)
        except Exception:
            # Let the general path produce the exact error (with its path) or value.
            return super().complete_object_value(return_type, field_nodes, info, path, result)
        return out
