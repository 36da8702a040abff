"""Scheduled jobs: monitors that raise incidents, retention pruning, rollback drills.

Every job is a plain function ``(store, records, now, config) -> Report`` (see
:mod:`lineage.jobs.report`): it never lets an exception escape, and the scheduler
(:mod:`lineage.jobs.scheduler`, the one module that imports APScheduler) records each run.
Their configuration lives in the top-level ``jobs/`` folder as reviewable TOML files, loaded by
:mod:`lineage.jobs.toml_config`.
"""
