"""No credential reaches a log: not in a message, not in a traceback, not in its locals."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog

from lineage.graphql.observability import REDACTED, configure_logging, redact_text

TOKEN = "lin_0123456789abcdef_" + "Ab3_-xYz" * 5 + "Q9z"
HEADER = f"Bearer {TOKEN}"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Logging configured as the server does, into a string; the previous set-up restored."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    yield stream
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


def authorise(headers: dict[str, str]) -> None:
    authorization = headers["authorization"]
    token = authorization.removeprefix("Bearer ")
    raise RuntimeError(f"could not verify {token} from {authorization}")


def test_the_token_format_is_what_tokens_look_like() -> None:
    assert len(TOKEN.split("_", 2)[2]) == 43  # secrets.token_urlsafe(32)


def test_a_structlog_traceback_shows_no_token_in_locals_or_message(
    captured: io.StringIO,
) -> None:
    log = structlog.get_logger("lineage.test")
    try:
        authorise({"authorization": HEADER})
    except RuntimeError:
        log.exception("resolver failed", header=HEADER, nested={"values": [HEADER]})
    output = captured.getvalue()
    assert "RuntimeError" in output and "authorise" in output  # the traceback is there
    assert TOKEN not in output
    assert TOKEN[-20:] not in output
    assert REDACTED in output


def test_a_standard_library_record_shows_no_token(captured: io.StringIO) -> None:
    log = logging.getLogger("uvicorn.error")
    try:
        authorise({"authorization": HEADER})
    except RuntimeError:
        log.exception("Exception in ASGI application, headers %s", {"authorization": HEADER})
    output = captured.getvalue()
    assert "RuntimeError" in output
    assert TOKEN not in output
    assert TOKEN[-20:] not in output


@pytest.mark.parametrize(
    "text",
    [
        TOKEN,
        HEADER,
        "bearer some-other-opaque-credential",
        "b'Bearer abc.def.ghi'",
    ],
)
def test_redaction_removes_tokens_and_bearer_credentials(text: str) -> None:
    redacted = redact_text(f"before {text} after")
    assert redacted.startswith("before ") and redacted.endswith(" after")
    assert REDACTED in redacted
    credential = text.split()[-1].rstrip("'")
    assert credential not in redacted


def test_redaction_leaves_other_text_alone() -> None:
    text = "Bearer of bad news? no: request 4302ee26 for lin_model"
    assert redact_text("request 4302ee26 for lin_model") == "request 4302ee26 for lin_model"
    assert REDACTED in redact_text(text)  # anything after "Bearer" is treated as a secret
