"""The routing endpoint serving infrastructure polls: ``GET /api/v1/routing/{deployment}``."""
