"""Leases between processes: one holder at a time, renewed by its holder, taken over once
expired, given back on release. Times are passed in: nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lineage.store import GraphStore

T0 = datetime(2024, 1, 25, 12, 0, tzinfo=UTC)


def test_a_free_lease_is_taken_and_refused_to_another_holder_while_it_runs(
    store: GraphStore,
) -> None:
    assert store.try_lease("job:monitors", "scheduler-a", T0, ttl=60)
    assert not store.try_lease("job:monitors", "scheduler-b", T0 + timedelta(seconds=59), ttl=60)
    assert store.try_lease("job:retention", "scheduler-b", T0, ttl=60)  # another lease


def test_the_holder_renews_and_another_takes_over_only_once_it_expired(store: GraphStore) -> None:
    assert store.try_lease("job:monitors", "a", T0, ttl=60)
    assert store.try_lease("job:monitors", "a", T0 + timedelta(seconds=50), ttl=60)  # renewed
    assert not store.try_lease("job:monitors", "b", T0 + timedelta(seconds=100), ttl=60)
    assert store.try_lease("job:monitors", "b", T0 + timedelta(seconds=110), ttl=60)  # expired
    assert not store.try_lease("job:monitors", "a", T0 + timedelta(seconds=120), ttl=60)


def test_a_released_lease_is_free_and_only_its_holder_releases_it(store: GraphStore) -> None:
    assert store.try_lease("job:drills", "a", T0, ttl=600)
    store.release_lease("job:drills", "b")  # not b's: nothing happens
    assert not store.try_lease("job:drills", "b", T0 + timedelta(seconds=1), ttl=600)
    store.release_lease("job:drills", "a")
    assert store.try_lease("job:drills", "b", T0 + timedelta(seconds=2), ttl=600)


def test_leases_write_no_audit_event(store: GraphStore) -> None:
    head = store.audit_head()
    store.try_lease("job:monitors", "a", T0, ttl=60)
    store.release_lease("job:monitors", "a")
    assert store.audit_head() == head


def test_a_lease_is_the_first_call_a_new_thread_may_make(store: GraphStore) -> None:
    import threading

    taken: list[bool] = []
    thread = threading.Thread(target=lambda: taken.append(store.try_lease("job:x", "a", T0, 60)))
    thread.start()
    thread.join(10)
    assert taken == [True]
