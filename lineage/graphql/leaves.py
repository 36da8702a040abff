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
from functools import partial
from typing import Any

from graphene.types.resolver import dict_or_attr_resolver
from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLUnionType,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Path

# (response key, resolver or None for __typename, serialiser or the type name, non-null)
Step = tuple[str, Callable[..., Any] | None, Any, bool]


def _direct(resolve: Callable[..., Any]) -> Callable[..., Any]:
    """graphene's default resolver for a field, as one call instead of three."""
    if not (
        isinstance(resolve, partial)
        and resolve.func is dict_or_attr_resolver
        and len(resolve.args) == 2
        and not resolve.keywords
    ):
        return resolve
    name, default = resolve.args

    def get(root: Any, _info: Any) -> Any:
        return root.get(name, default) if isinstance(root, dict) else getattr(root, name, default)

    return get


class _Fallback(Exception):
    """A value the fast loop does not handle: let graphql-core complete the object."""


class LeafBatchingContext(ExecutionContext):
    """graphql-core's ExecutionContext with a fast path for objects of leaf fields only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[GraphQLObjectType, int], list[Step] | None] = {}
        # (abstract type, runtime type name) -> the checked object type: the check depends on
        # the names only, and a list of 1,000 nodes resolves to a handful of types.
        self._runtime_types: dict[tuple[str, str], GraphQLObjectType] = {}

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
            resolve = _direct(field.resolve) if field.resolve else self.field_resolver
            steps.append((response_key, resolve, leaf.serialize, is_non_null_type(field.type)))
        return steps

    def _complete_leaves(self, plan: list[Step], result: Any, info: GraphQLResolveInfo) -> Any:
        """Run a plan over one object; raises if any value needs the general path."""
        out: dict[str, Any] = {}
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
        return out

    def _object_type_of(
        self,
        item_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        item: Any,
    ) -> GraphQLObjectType:
        """The concrete object type of a list item (resolving interfaces and unions)."""
        if is_object_type(item_type):
            assert isinstance(item_type, GraphQLObjectType)
            return item_type
        if not is_abstract_type(item_type):
            raise _Fallback
        assert isinstance(item_type, GraphQLInterfaceType | GraphQLUnionType)
        resolve = item_type.resolve_type or self.type_resolver
        runtime = resolve(item, info, item_type)
        if not isinstance(runtime, str):
            raise _Fallback
        key = (item_type.name, runtime)
        checked = self._runtime_types.get(key)
        if checked is None:
            checked = self.ensure_valid_runtime_type(runtime, item_type, field_nodes, info, item)
            self._runtime_types[key] = checked
        return checked

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """Complete a list of plain objects in one loop (no per-item paths or dispatch)."""
        item_type = return_type.of_type
        if is_non_null_type(item_type):
            item_type = item_type.of_type  # type: ignore[union-attr]
        if isinstance(result, list) and (is_object_type(item_type) or is_abstract_type(item_type)):
            try:
                out = []
                for item in result:
                    if item is None:
                        raise _Fallback
                    object_type = self._object_type_of(item_type, field_nodes, info, item)
                    plan = None if object_type.is_type_of else self._plan(object_type, field_nodes)
                    if plan is None:
                        raise _Fallback
                    out.append(self._complete_leaves(plan, item, info))
                return out
            except Exception:
                pass  # the general path gives the exact value or error
        return super().complete_list_value(return_type, field_nodes, info, path, result)

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
        if plan is not None:
            try:
                return self._complete_leaves(plan, result, info)
            except Exception:
                pass  # the general path gives the exact value or error (with its path)
        return super().complete_object_value(return_type, field_nodes, info, path, result)
