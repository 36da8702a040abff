"""The Neo4j backend without a server: query text, URI handling, failing fast, and the plumbing.

The contract suite (tests/contract) runs the Neo4j backend against a real server when one is
available; these tests check what needs none. A fake driver records every statement, so the
store's use of transactions, parameters and error translation is checked here too.
"""

from __future__ import annotations

import ast
import inspect
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import neo4j
import pytest
from neo4j import exceptions as neo4j_errors

from lineage.errors import ConflictError, InvalidError, NotFoundError, UnavailableError
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind
from lineage.store import (
    AuditEvent,
    EdgeQuery,
    GraphStore,
    NodeQuery,
    TraversalSpec,
    cypher,
    neo4j_ingest,
)
from lineage.store.base import MAX_DEPTH
from lineage.store.neo4j import Neo4jStore, parse_uri
from tests.cypher_lint import lint_findings

T0 = datetime(2024, 1, 10, tzinfo=UTC)
MARKERS = {"__LABEL__", "__TYPES__", "__LEFT__", "__RIGHT__", "__GROUP__"}
PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _statements() -> dict[str, str]:
    """Every public statement of the module, with each template filled in."""
    found = {
        name: value
        for name, value in vars(cypher).items()
        if name.isupper()
        and not name.startswith("_")
        and isinstance(value, str)
        and not name.endswith("_TEMPLATE")
    }
    found |= {f"SCHEMA[{i}]": s for i, s in enumerate(cypher.SCHEMA)}
    found["upsert_nodes"] = cypher.upsert_nodes_query(NodeKind.DATASET_VERSION)
    found["upsert_edges"] = cypher.upsert_edges_query(EdgeKind.USED)
    found["upsert_edges_kinds"] = cypher.upsert_edges_query(*EdgeKind)
    for direction in Direction:
        found[f"traverse_{direction}"] = cypher.traverse_query(direction, None, MAX_DEPTH)
        found[f"traverse_{direction}_kinds"] = cypher.traverse_query(
            direction, frozenset({EdgeKind.USED, EdgeKind.SERVED}), 1
        )
    return found


# -- the query text ------------------------------------------------------------------------------


def test_statements_are_constants_built_only_from_literals() -> None:
    tree = ast.parse(inspect.getsource(cypher))
    constants = [
        node
        for node in tree.body
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and isinstance(getattr(cypher, node.target.id), str | tuple)
    ]
    assert len(constants) > 20
    for node in constants:
        assert node.value is not None
        for part in ast.walk(node.value):
            # No f-string, %-formatting or call: a constant cannot carry a runtime value.
            assert not isinstance(part, ast.JoinedStr | ast.Call), ast.unparse(node)
            if isinstance(part, ast.BinOp):
                assert isinstance(part.op, ast.Add), ast.unparse(node)


def test_values_reach_statements_only_as_parameters() -> None:
    for name, text in _statements().items():
        literals = re.findall(r"'[^']*'|\"[^\"]*\"", text)
        assert set(literals) <= {"'store'"}, f"{name} embeds a value: {literals}"
        assert not re.search(r"__[A-Z]+__", text), f"{name} has an unfilled marker"
        assert "{}" not in text and "%s" not in text, name


def test_templates_use_only_the_known_markers() -> None:
    for name, value in vars(cypher).items():
        if isinstance(value, str) and not name.startswith("__"):
            used = set(re.findall(r"__[A-Z]+__", value))
            assert used <= MARKERS, name
            assert not used or name.endswith("_TEMPLATE"), name


def test_labels_and_types_come_only_from_the_enums() -> None:
    assert cypher.label(NodeKind.DATASET_VERSION) == "`DatasetVersion`"
    assert cypher.relationship_types([EdgeKind.USED, EdgeKind.SERVED, EdgeKind.USED]) == (
        "`SERVED`|`USED`"
    )
    for bad in ["DatasetVersion", "Node) DETACH DELETE n //", None, 3]:
        with pytest.raises(InvalidError):
            cypher.label(bad)  # type: ignore[arg-type]
    for bad_kinds in [["USED"], [EdgeKind.USED, "X`]->() DELETE r //"], []]:
        with pytest.raises(InvalidError):
            cypher.relationship_types(bad_kinds)  # type: ignore[arg-type]
    with pytest.raises(InvalidError):
        cypher.traverse_query("IN", None, 3)  # type: ignore[arg-type]


def test_walk_levels_are_clamped_ints() -> None:
    assert cypher.walk_levels(1) == 1
    assert cypher.walk_levels(MAX_DEPTH) == MAX_DEPTH
    for bad in [0, -1, MAX_DEPTH + 1, True, "3", 2.0]:
        with pytest.raises(InvalidError):
            cypher.walk_levels(bad)  # type: ignore[arg-type]


def test_a_walk_unrolls_one_level_per_depth_and_one_probe_past_it() -> None:
    for depth in (1, 6, MAX_DEPTH):
        walk = cypher.traverse_query(Direction.IN, None, depth)
        assert walk.count("CALL (seen, frontier, cut) {") == depth
        # Each level, and the probe one hop past the depth, can ask whether anything is new.
        assert walk.count("EXISTS {") == depth + 1


def test_a_walk_seeks_its_start_and_never_enumerates_paths() -> None:
    walk = cypher.traverse_query(Direction.BOTH, None, MAX_DEPTH)

    assert walk.lstrip().startswith("MATCH (s:Node {id: $start})"), "the node_id constraint"
    assert "SHORTEST" not in walk
    assert not re.search(r"\*\s*\d*\s*\.\.|\{\d+,\s*\d*\}", walk), "no variable-length pattern"
    assert "LIMIT $max_nodes" in walk, "a level stops reading at the budget"
    assert "-[rel" not in walk and "(f)-[r]-(t:Node)" in walk, "no type filter for every kind"


def test_walk_direction_sets_the_arrow() -> None:
    kinds = frozenset({EdgeKind.USED})
    assert "(f)-[r:`USED`]->(t:Node)" in cypher.traverse_query(Direction.OUT, kinds, 2)
    assert "(f)<-[r:`USED`]-(t:Node)" in cypher.traverse_query(Direction.IN, kinds, 2)
    both = cypher.traverse_query(Direction.BOTH, kinds, 2)
    assert "(f)-[r:`USED`]-(t:Node)" in both
    # The edges among the returned nodes are read one way whatever the walk's direction.
    assert "MATCH (a)-[r:`USED`]->(b)" in both




def test_statements_pass_the_neo4j_cypher_5_front_end(tmp_path: Path) -> None:
    """Neo4j's own parser and semantic analysis (npm @neo4j-cypher/language-support).

    Opt-in: set LINEAGE_CYPHER_LINT to a folder where that package is installed with npm.
    """
    assert lint_findings(_statements(), tmp_path) == {}


# -- where to connect ----------------------------------------------------------------------------


def test_credentials_come_from_the_uri_and_never_stay_in_it() -> None:
    target = parse_uri("neo4j://alice:s%3Acret@db.example:7688", env={})

    assert (target.user, target.password) == ("alice", "s:cret")
    assert target.uri == "neo4j://db.example:7688"
    assert target.driver_uri == "neo4j://db.example:7688"
    assert "cret" not in repr(target)


def test_credentials_come_from_the_environment_when_the_uri_has_none() -> None:
    env = {"LINEAGE_NEO4J_USER": "svc", "LINEAGE_NEO4J_PASSWORD": "from-env"}

    assert parse_uri("bolt://db:7687", env=env).password == "from-env"
    assert parse_uri("bolt://db:7687", env=env).user == "svc"
    assert parse_uri("bolt://bob:from-uri@db", env=env).password == "from-uri"
    assert parse_uri("bolt://db", env={"LINEAGE_NEO4J_PASSWORD": "x"}).user == "neo4j"
    assert parse_uri("bolt://db", env={}).password is None


def test_database_comes_from_the_query_or_the_environment() -> None:
    env = {"LINEAGE_NEO4J_DATABASE": "fromenv"}

    assert parse_uri("neo4j+s://db?database=lineage", env={}).database == "lineage"
    assert parse_uri("neo4j+s://db?database=lineage", env=env).database == "lineage"
    assert parse_uri("neo4j+s://db", env=env).database == "fromenv"
    assert parse_uri("neo4j+s://db", env={}).database is None
    target = parse_uri("neo4j://u:p@db?database=lineage&region=eu", env={})
    assert target.uri == "neo4j://db:7687?region=eu&database=lineage"
    assert target.driver_uri == "neo4j://db:7687?region=eu", "routing context stays, ours goes"


@pytest.mark.parametrize(
    "uri",
    [
        "http://u:hunter2@db:7474",
        "bolt://u:hunter2@db?region=eu",
        "bolt://u:hunter2@db/lineage",
        "neo4j://u:hunter2@",
        "bolt://u:hunter2@db:port",
    ],
)
def test_a_bad_uri_is_invalid_and_its_message_keeps_the_password_out(uri: str) -> None:
    with pytest.raises(InvalidError) as caught:
        parse_uri(uri, env={})

    assert caught.value.field == "store"
    assert "hunter2" not in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("scheme", ["bolt", "neo4j"])
def test_an_unreachable_server_fails_fast_as_unavailable(scheme: str) -> None:
    started = time.monotonic()

    with pytest.raises(UnavailableError) as caught:
        Neo4jStore(f"{scheme}://neo4j:hunter2@127.0.0.1:{_closed_port()}")

    assert time.monotonic() - started < 10
    assert "127.0.0.1" in caught.value.message
    assert "hunter2" not in str(caught.value)


# -- the store on a fake driver ------------------------------------------------------------------


class FakeServer:
    """Answers statements with canned rows and records what was run, checking parameters."""

    def __init__(self) -> None:
        self.log: list[tuple[str, dict[str, Any]]] = []
        self.existing: set[str] = set()
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.fail: dict[str, Exception] = {}
        self.connect_error: Exception | None = None
        self.driver_args: dict[str, Any] = {}
        self.transactions: list[FakeTx] = []
        self.managed: list[str] = []  # "read" / "write": each managed transaction run
        self.access_modes: list[str | None] = []  # each session's default access mode

    def run(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        missing = set(PARAMETER.findall(query)) - set(params)
        assert not missing, f"parameters {missing} not passed to {query}"
        self.log.append((query, params))
        if query in self.fail:
            raise self.fail[query]
        if query in self.rows:
            return self.rows[query]
        if "RETURN written, missing" in query:
            ends = [(row["src"], row["dst"]) for row in params["rows"]]
            absent = [i for pair in ends for i in pair if i not in self.existing]
            return [{"written": 0 if absent else len(ends), "missing": absent}]
        if query == cypher.APPEND_AUDIT:
            return [{"created": 1}]
        if query == cypher.DELETE_NODES:
            return [{"deleted": 0}]
        return []

    def statements(self) -> list[str]:
        return [query for query, _ in self.log]


class FakeResult:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def consume(self) -> None:
        return None


class FakeTx:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.outcome = "open"

    def run(self, query: str, parameters: dict[str, Any] | None = None, **more: Any) -> FakeResult:
        return FakeResult(self.server.run(query, {**(parameters or {}), **more}))

    def commit(self) -> None:
        self.outcome = "committed"

    def rollback(self) -> None:
        self.outcome = "rolled back"


class FakeSession:
    def __init__(self, server: FakeServer, config: dict[str, Any]) -> None:
        self.server = server
        server.access_modes.append(config.get("default_access_mode"))
        assert config.get("bookmark_manager") is not None, "every session chains bookmarks"

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, query: str | Any, parameters: dict[str, Any] | None = None) -> FakeResult:
        text = query.text if hasattr(query, "text") else query  # a neo4j.Query, as ping sends
        return FakeResult(self.server.run(text, parameters or {}))

    def execute_read(self, work: Callable[[FakeTx], Any]) -> Any:
        self.server.managed.append("read")
        return work(FakeTx(self.server))

    def execute_write(self, work: Callable[[FakeTx], Any]) -> Any:
        self.server.managed.append("write")
        return work(FakeTx(self.server))

    def begin_transaction(self, timeout: float | None = None) -> FakeTx:
        assert timeout is not None, "a scope must be bounded by a server-side timeout"
        tx = FakeTx(self.server)
        self.server.transactions.append(tx)
        return tx

    def close(self) -> None:
        return None


class FakeDriver:
    def __init__(self, server: FakeServer) -> None:
        self.server = server

    def verify_connectivity(self) -> None:
        if self.server.connect_error is not None:
            raise self.server.connect_error

    def session(self, **config: Any) -> FakeSession:
        return FakeSession(self.server, config)

    def close(self) -> None:
        return None


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()

    def driver(uri: str, **config: Any) -> FakeDriver:
        fake.driver_args = {"uri": uri, **config}
        return FakeDriver(fake)

    monkeypatch.setattr(neo4j.GraphDatabase, "driver", driver)
    for name in ("LINEAGE_NEO4J_USER", "LINEAGE_NEO4J_PASSWORD", "LINEAGE_NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    return fake


def _server_error(code: str) -> Exception:
    return neo4j_errors.Neo4jError._hydrate_neo4j(code=code, message="refused")


def _node(node_id: str, kind: NodeKind) -> Node:
    return Node(id=node_id, kind=kind, valid_from=T0, props={"owner": "risk", "pii": True})


def test_open_gives_the_password_to_auth_only_with_short_timeouts(server: FakeServer) -> None:
    store = Neo4jStore("neo4j+s://ops:hunter2@db.example:7687?database=lineage")

    assert server.driver_args["uri"] == "neo4j+s://db.example:7687"
    assert server.driver_args["auth"] == ("ops", "hunter2")
    assert server.driver_args["connection_timeout"] <= 10
    assert server.driver_args["connection_acquisition_timeout"] <= 10
    assert store.uri == "neo4j+s://db.example:7687?database=lineage"
    assert store.database == "lineage"
    assert server.statements() == list(cypher.SCHEMA)
    assert isinstance(store, GraphStore)


def test_failing_authentication_is_unavailable_and_says_so(server: FakeServer) -> None:
    server.connect_error = _server_error("Neo.ClientError.Security.Unauthorized")

    with pytest.raises(UnavailableError) as caught:
        Neo4jStore("bolt://ops:hunter2@db.example")

    assert "authentication failed" in caught.value.message
    assert "hunter2" not in str(caught.value)


def test_every_operation_passes_every_parameter_its_statement_names(server: FakeServer) -> None:
    store = Neo4jStore("bolt://db.example")
    server.existing = {"run:r1", "snapshot:s1"}
    run, snapshot = (
        _node("run:r1", NodeKind.TRAINING_RUN),
        _node("snapshot:s1", NodeKind.FEATURE_SNAPSHOT),
    )
    store.upsert_nodes([run, snapshot])
    store.upsert_edges([Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:s1")])
    store.get_nodes(["run:r1"])
    for query in [
        NodeQuery(),
        NodeQuery(kind=NodeKind.TRAINING_RUN, newest_first=True),
        NodeQuery(props={"content_hash": "ab", "pii": True}, since=T0, until=T0),
    ]:
        store.find_nodes(query)
    for edges in [
        EdgeQuery(),
        EdgeQuery(src="run:r1"),
        EdgeQuery(dst="snapshot:s1"),
        EdgeQuery(src="run:r1", dst="snapshot:s1", as_of=T0, kinds=frozenset({EdgeKind.USED})),
    ]:
        store.find_edges(edges)
    with pytest.raises(NotFoundError):  # the fake has no walk to give
        store.traverse(TraversalSpec(start="run:r1", as_of=T0))
    store.delete_nodes(["run:r1"])
    store.append_audit(
        AuditEvent(
            seq=1,
            at=T0,
            actor="person:a",
            action="register",
            reason="test",
            payload_hash="p",
            subjects={},
            prev_hash="",
            hash="h",
        )
    )
    store.audit_head()
    store.audit_events(after_seq=0, limit=10)
    store.ping()

    written = [params for query, params in server.log if "MERGE (n:Node" in query]
    assert [row["fields"]["p_pii"] for row in written[0]["rows"]] == [True], "typed, not 1"


def test_find_nodes_uses_the_index_anchor_and_narrows_it_by_cursor(server: FakeServer) -> None:
    store = Neo4jStore("bolt://db.example")
    server.rows[cypher.FIND_NODES_BY_KIND_DESC] = [
        {
            "id": f"run:r{i}",
            "kind": "TrainingRun",
            "valid_from": f"2024-01-1{i}T00:00:00.000000Z",
            "valid_to": None,
            "recorded_at": "2024-02-01T00:00:00.000000Z",
            "props": "{}",
        }
        for i in (3, 2, 1)
    ]

    page = store.find_nodes(NodeQuery(kind=NodeKind.TRAINING_RUN, newest_first=True, limit=2))
    assert [n.id for n in page.items] == ["run:r3", "run:r2"]
    assert page.next_cursor is not None
    store.find_nodes(
        NodeQuery(kind=NodeKind.TRAINING_RUN, newest_first=True, limit=2, after=page.next_cursor)
    )

    query, params = server.log[-1]
    assert query == cypher.FIND_NODES_BY_KIND_DESC
    assert (params["top"], params["after_id"]) == ("2024-01-12T00:00:00.000000Z", "run:r2")
    assert params["limit"] == 3


def test_an_edge_to_a_missing_node_is_not_found_naming_every_missing_end(
    server: FakeServer,
) -> None:
    store = Neo4jStore("bolt://db.example")
    server.existing = {"run:r1"}

    with pytest.raises(NotFoundError) as caught:
        store.upsert_edges(
            [
                Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:zz"),
                Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:aa"),
            ]
        )

    assert caught.value.field == "edges"
    assert caught.value.details == {"missing": ["snapshot:aa", "snapshot:zz"]}
    assert "snapshot:aa" in caught.value.message
    # One statement looks the ends up and writes only if all exist: no separate existence check.
    writes = [query for query in server.statements() if "UNWIND $rows" in query]
    assert writes == [cypher.upsert_edges_query(EdgeKind.USED)]


def test_a_transaction_scope_locks_first_and_nested_scopes_join_it(server: FakeServer) -> None:
    store = Neo4jStore("bolt://db.example")
    server.log.clear()

    with store.transaction():
        store.upsert_nodes([_node("run:r1", NodeKind.TRAINING_RUN)])
        with store.transaction():
            store.get_nodes(["run:r1"])

    assert len(server.transactions) == 1
    assert server.transactions[0].outcome == "committed"
    assert server.statements()[0] == cypher.TAKE_LOCK


def test_an_exception_in_a_scope_rolls_it_back(server: FakeServer) -> None:
    store = Neo4jStore("bolt://db.example")

    with pytest.raises(KeyError), store.transaction(), store.transaction():
        raise KeyError("pipeline crashed")

    assert [tx.outcome for tx in server.transactions] == ["rolled back"]
    with store.transaction():
        pass
    assert [tx.outcome for tx in server.transactions] == ["rolled back", "committed"]


def test_a_taken_audit_sequence_is_a_conflict_on_seq(server: FakeServer) -> None:
    store = Neo4jStore("bolt://db.example")
    event = AuditEvent(
        seq=7,
        at=T0,
        actor="person:a",
        action="approve",
        reason="r",
        payload_hash="p",
        subjects={"run:r1": "h"},
        prev_hash="g",
        hash="h",
    )

    server.rows[cypher.APPEND_AUDIT] = [{"created": 0}]
    with pytest.raises(ConflictError) as taken:
        store.append_audit(event)
    server.fail[cypher.APPEND_AUDIT] = _server_error(
        "Neo.ClientError.Schema.ConstraintValidationFailed"
    )
    with pytest.raises(ConflictError) as raced:
        store.append_audit(event)

    assert taken.value.field == raced.value.field == "seq"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (neo4j_errors.ServiceUnavailable("gone"), UnavailableError),
        (neo4j_errors.SessionExpired("expired"), UnavailableError),
        (_server_error("Neo.TransientError.Transaction.DeadlockDetected"), UnavailableError),
        (_server_error("Neo.ClientError.Statement.SyntaxError"), InvalidError),
        (_server_error("Neo.DatabaseError.General.UnknownError"), UnavailableError),
    ],
)
def test_driver_errors_become_lineage_errors(
    server: FakeServer, error: Exception, expected: type[Exception]
) -> None:
    store = Neo4jStore("bolt://db.example")
    server.fail[cypher.GET_NODES] = error

    with pytest.raises(expected) as caught:
        store.get_nodes(["run:r1"])

    assert not isinstance(caught.value, neo4j_errors.Neo4jError | neo4j_errors.DriverError)


def test_a_walk_from_a_missing_or_younger_start_is_not_found(server: FakeServer) -> None:
    store = Neo4jStore("bolt://db.example")

    with pytest.raises(NotFoundError) as missing:
        store.traverse(TraversalSpec(start="run:r1"))
    server.rows[cypher.START_NODE] = [
        {
            "id": "run:r1",
            "kind": "TrainingRun",
            "valid_from": "2024-01-20T00:00:00.000000Z",
            "valid_to": None,
            "recorded_at": "2024-01-20T00:00:00.000000Z",
            "props": "{}",
        }
    ]
    with pytest.raises(NotFoundError) as younger:
        store.traverse(TraversalSpec(start="run:r1", as_of=T0))
    alone = store.traverse(TraversalSpec(start="run:r1", edge_kinds=frozenset()))

    assert missing.value.field == younger.value.field == "start"
    assert "did not exist at" in younger.value.message
    assert (alone.depths, alone.edges, alone.truncated) == ({"run:r1": 0}, [], False)


def test_reads_go_to_readers_and_writes_to_the_leader(server: FakeServer) -> None:
    store = Neo4jStore("neo4j://db.example")
    server.managed.clear()
    server.access_modes.clear()

    store.get_nodes(["run:r1"])
    store.find_nodes(NodeQuery())
    store.find_edges(EdgeQuery(src="run:r1"))
    store.audit_head()
    store.ping()
    assert server.managed == ["read"] * 4
    assert server.access_modes == [neo4j.READ_ACCESS] * 5

    store.upsert_nodes([_node("run:r1", NodeKind.TRAINING_RUN)])
    store.ping(write=True)
    assert server.managed[4:] == ["write"]
    assert server.access_modes[5:] == [neo4j.WRITE_ACCESS] * 2


def _walked(node_id: str, kind: str) -> dict[str, Any]:
    return {
        "id": node_id,
        "kind": kind,
        "valid_from": "2024-01-10T00:00:00.000000Z",
        "valid_to": None,
        "recorded_at": "2024-01-10T00:00:00.000000Z",
        "props": "{}",
    }


def test_a_walk_takes_each_nodes_depth_from_its_level(server: FakeServer) -> None:
    store = Neo4jStore("bolt://db.example")
    walk = cypher.traverse_query(Direction.IN, None, 6)
    server.rows[walk] = [
        {
            "start": _walked("dataset:a@v1", "DatasetVersion"),
            "levels": [
                [
                    _walked("snapshot:s2", "FeatureSnapshot"),
                    _walked("snapshot:s1", "FeatureSnapshot"),
                ],
                [],  # a level whose nodes the node_kinds filter hid
                [_walked("run:r1", "TrainingRun")],
                [],
            ],
            "edges": [
                {"src": "snapshot:s2", "kind": "WAS_DERIVED_FROM", "dst": "dataset:a@v1",
                 "valid_from": "", "valid_to": None, "props": "{}"},
                {"src": "snapshot:s1", "kind": "WAS_DERIVED_FROM", "dst": "dataset:a@v1",
                 "valid_from": "", "valid_to": None, "props": "{}"},
            ],
            "truncated": True,
        }
    ]

    result = store.traverse(TraversalSpec(start="dataset:a@v1", max_nodes=4))

    assert [n.id for n in result.nodes] == ["dataset:a@v1", "snapshot:s1", "snapshot:s2", "run:r1"]
    assert result.depths == {"dataset:a@v1": 0, "snapshot:s1": 1, "snapshot:s2": 1, "run:r1": 3}
    assert [e.src for e in result.edges] == ["snapshot:s1", "snapshot:s2"]
    assert result.truncated is True
    _, params = next(entry for entry in server.log if entry[0] == walk)
    assert (params["max_nodes"], params["node_kinds"], params["at"]) == (4, None, None)


def test_a_large_delete_outside_a_scope_runs_in_bounded_transactions(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(neo4j_ingest, "DELETE_ROWS", 2)
    store = Neo4jStore("bolt://db.example")
    server.managed.clear()

    store.delete_nodes(["batch:b1", "batch:b2", "batch:b3", "batch:b2", "batch:b4", "batch:b5"])

    deletes = [params["ids"] for query, params in server.log if query == cypher.DELETE_NODES]
    assert deletes == [["batch:b1", "batch:b2"], ["batch:b3", "batch:b4"], ["batch:b5"]]
    assert server.managed == ["write"] * 3, "one transaction per slice"


def test_a_delete_inside_a_scope_stays_in_its_transaction(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(neo4j_ingest, "DELETE_ROWS", 2)
    store = Neo4jStore("bolt://db.example")
    server.managed.clear()

    with store.transaction():
        store.delete_nodes(["batch:b1", "batch:b2", "batch:b3"])

    assert server.managed == [], "atomic with whatever else the scope writes (its audit event)"
    assert [tx.outcome for tx in server.transactions] == ["committed"]


def test_an_edge_write_failing_part_way_leaves_its_scope_only_a_rollback(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(neo4j_ingest, "UNWIND_ROWS", 1)
    store = Neo4jStore("bolt://db.example")
    server.existing = {"run:r1", "snapshot:s1"}
    edges = [
        Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:s1"),
        Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:ghost"),
    ]

    with pytest.raises(NotFoundError) as at_exit, store.transaction():
        with pytest.raises(NotFoundError):
            store.upsert_edges(edges)  # the first statement wrote; the second found a ghost
        store.get_nodes(["run:r1"])  # a caller that goes on is stopped at once...

    assert "snapshot:ghost" in at_exit.value.message
    assert [tx.outcome for tx in server.transactions] == ["rolled back"]  # ...and nothing kept


def test_an_edge_write_failing_at_its_first_statement_leaves_its_scope_usable(
    server: FakeServer,
) -> None:
    store = Neo4jStore("bolt://db.example")
    server.existing = {"run:r1"}

    with store.transaction():
        with pytest.raises(NotFoundError):
            store.upsert_edges([Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:ghost")])
        store.upsert_nodes([_node("snapshot:s1", NodeKind.FEATURE_SNAPSHOT)])

    assert [tx.outcome for tx in server.transactions] == ["committed"]


def test_an_edge_statement_writes_each_kind_by_its_group() -> None:
    statement = cypher.upsert_edges_query(EdgeKind.SERVED, EdgeKind.USED)

    assert statement.count("MERGE (a)-[r:") == 2
    assert "WHERE p.row.group = 0" in statement and "MERGE (a)-[r:`SERVED`" in statement
    assert statement.index("`SERVED`") < statement.index("WHERE p.row.group = 1")
    assert statement.index("WHERE p.row.group = 1") < statement.index("`USED`")
    assert statement.rstrip().endswith("RETURN written, missing")
    with pytest.raises(InvalidError):
        cypher.upsert_edges_query()


def test_edges_of_several_kinds_up_to_a_statement_are_written_in_one(server: FakeServer) -> None:
    store = Neo4jStore("bolt://db.example")
    server.existing = {"run:r1", "snapshot:s1", "model:m@v1"}

    store.upsert_edges(
        [
            Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:s1"),
            Edge(src="model:m@v1", kind=EdgeKind.WAS_GENERATED_BY, dst="run:r1"),
        ]
    )

    writes = [(q, p) for q, p in server.log if "UNWIND $rows" in q]
    assert [q for q, _ in writes] == [
        cypher.upsert_edges_query(EdgeKind.USED, EdgeKind.WAS_GENERATED_BY)
    ]
    assert [(row["src"], row["group"]) for row in writes[0][1]["rows"]] == [
        ("run:r1", 0),
        ("model:m@v1", 1),
    ]
