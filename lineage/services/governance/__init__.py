"""Model risk management: accountability, risk tiers, gates, sign-off and the deploy check.

The rules are in :mod:`lineage.services.governance.policy`; the deploy check the deployment
services call is :func:`lineage.services.governance.readiness.deployable`.
"""
