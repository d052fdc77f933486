"""structlog configured once: console lines for people, JSON for machines.

The stdlib and `temporalio` loggers (and so `workflow.logger` / `activity.logger`) render
through structlog's ProcessorFormatter; their Temporal context becomes plain fields.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from core import redact

_TEMPORAL_FIELDS = {
    "temporal_workflow": ("workflow_id", "run_id", "workflow_type"),
    "temporal_activity": ("workflow_id", "workflow_run_id", "activity_type", "attempt"),
}


def _temporal_context(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Lift the context temporalio puts on log records into fields of their own."""
    record = event_dict.get("_record")
    if record is None:
        return event_dict
    for attr, keys in _TEMPORAL_FIELDS.items():
        ctx = getattr(record, attr, None)
        if isinstance(ctx, dict):
            for key in keys:
                if key in ctx:
                    out = "run_id" if key == "workflow_run_id" else key
                    event_dict.setdefault(out, ctx[key])
    return event_dict


def _extra_fields(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Fields passed with `extra={...}` by our own code (step, seq, …) become fields too."""
    record = event_dict.get("_record")
    if record is not None:
        for key in _OWN_EXTRA:
            if hasattr(record, key):
                event_dict.setdefault(key, getattr(record, key))
    return event_dict


_OWN_EXTRA = ("step", "seq", "status", "written")


def configure_logging(fmt: str = "console", level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            *shared,
            redact.structlog_processor,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # A stdlib record (ours, uvicorn's, temporalio's) was masked by the handler's filter,
        # message and fields, before it gets here.
        foreign_pre_chain=[*shared, _temporal_context, _extra_fields],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(redact.RedactingFilter())  # every record, whichever logger made it
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "temporalio"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # temporalio would also append its context dict to the message text; we have fields.
    from temporalio import activity, workflow

    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
