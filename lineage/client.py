"""A small GraphQL-over-HTTP client for the command line: one operation per call, with a bearer
token, over the standard library (the CLI needs no HTTP package of its own).

An answer with errors raises :class:`ApiRefused` carrying the first error's ``extensions.code``,
``field`` and message; a server that cannot be reached, or answers something that is not the
API's JSON, raises :class:`ApiUnreachable`. The token is sent in a header and never appears in
an error message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

DEFAULT_TIMEOUT = 30.0


class ApiUnreachable(Exception):
    """The server could not be asked, or did not answer as the API does."""


class ApiRefused(Exception):
    """The API answered with an error: its code, the field it names, and why."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{self.code}: {where}{self.message}"


class ApiClient:
    """Operations against one server as one token's principal."""

    def __init__(self, url: str, token: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = url.rstrip("/") + "/graphql"
        self._token = token
        self.timeout = timeout

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """The whole answer body (``data`` and ``errors``), as a local
        :class:`lineage.graphql.local.LocalExecutor` returns it; ApiUnreachable when there is no
        API answer to give (no connection, not JSON, neither data nor errors)."""
        request: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            request["operationName"] = operation_name
        body = json.dumps(request).encode("utf-8")
        http_request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/graphql-response+json, application/json",
                "Authorization": f"Bearer {self._token}",
            },
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:  # 4xx / 5xx still carry the error shape
            raw = exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise ApiUnreachable(f"cannot reach {self.endpoint}: {exc}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise ApiUnreachable(f"{self.endpoint} did not answer with JSON") from None
        if not isinstance(answer, dict) or not ("data" in answer or answer.get("errors")):
            raise ApiUnreachable(f"{self.endpoint} answered without data or errors")
        return answer

    def call(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of the answer; ApiRefused for an answer with errors."""
        answer = self.execute(query, variables)
        errors = answer.get("errors")
        if errors:
            first = errors[0]
            extensions = first.get("extensions") or {}
            raise ApiRefused(
                str(extensions.get("code", "ERROR")),
                str(first.get("message", "")),
                extensions.get("field"),
            )
        data = answer.get("data")
        if not isinstance(data, dict):
            raise ApiUnreachable(f"{self.endpoint} answered without data")
        return data
