"""An event trigger's definition checked and compiled: shared by the client (before sending)
and the scheduler (which owns triggers). Pure logic.

A trigger listens on a NATS subject under ``headrace.ext.`` (default ``headrace.ext.>``, every
external event; the stream ``HEADRACE_EXT`` stores exactly those subjects, so a subject
elsewhere would never deliver anything and is refused), for CloudEvents of one ``type``,
optionally passing a CEL ``filter``, and maps pipeline parameters to ``{{ CEL }}`` templates
or constants (see :mod:`.event_cel`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SpecError
from .event_cel import CelError, EventFilter, Template, compile_filter, compile_template
from .plan import ROOT, Plan
from .types import coerce

EXTERNAL_PREFIX = "headrace.ext."
DEFAULT_SUBJECT = "headrace.ext.>"
_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_TOKEN = re.compile(r"^[^\s.*>]+$")


class TriggerError(ValueError):
    """A trigger that cannot be created; the message names the field and the fix."""


@dataclass(frozen=True)
class CompiledTrigger:
    name: str
    namespace: str
    event_type: str
    subject: str
    filter: EventFilter | None
    templates: dict[str, Template]


def check_label(value: str, what: str) -> str:
    if not isinstance(value, str) or not _LABEL.match(value):
        raise TriggerError(
            f"{what} {value!r} is not valid: use a DNS label (lower-case letters, digits and "
            "'-', starting with a letter, at most 63 characters), e.g. 'on-new-order'"
        )
    return value


def check_subject(subject: str) -> str:
    """A NATS subject (wildcards ``*`` and a final ``>`` allowed) under ``headrace.ext.``."""
    tokens = subject.split(".") if isinstance(subject, str) else []
    valid = bool(tokens) and all(
        _TOKEN.match(t) or t == "*" or (t == ">" and i == len(tokens) - 1)
        for i, t in enumerate(tokens)
    )
    if not valid or not subject.startswith(EXTERNAL_PREFIX) or len(tokens) < 3:
        raise TriggerError(
            f"subject {subject!r} is not a NATS subject under {EXTERNAL_PREFIX} (the stream "
            f"HEADRACE_EXT stores {DEFAULT_SUBJECT} only): use e.g. {EXTERNAL_PREFIX}orders.> "
            f"or leave it out for {DEFAULT_SUBJECT}"
        )
    return subject


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether NATS ``subject`` is matched by ``pattern`` (``*`` one token, ``>`` the rest)."""
    want, got = pattern.split("."), subject.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return len(got) > index
        if index >= len(got) or (token != "*" and token != got[index]):
            return False
    return len(want) == len(got)


def compile_trigger(
    *,
    name: str,
    namespace: str,
    event_type: str,
    subject: str,
    filter_text: str,
    parameters: Mapping[str, Any],
    plan: Plan,
) -> CompiledTrigger:
    """Every field checked, the CEL compiled; :class:`TriggerError` says what is wrong.

    Constants are typed against the pipeline now, and a required parameter that neither a
    template nor a constant gives is refused here, not at the first event.
    """
    check_label(name, "trigger name")
    check_label(namespace, "namespace")
    if not isinstance(event_type, str) or not event_type.strip():
        raise TriggerError("--on needs the CloudEvents type to listen for, e.g. com.shop.order")
    check_subject(subject)
    compiled_filter = None
    if filter_text:
        try:
            compiled_filter = compile_filter(filter_text)
        except CelError as exc:
            raise TriggerError(f"--filter: {exc}") from None
    declared = plan.parameter_inputs(ROOT)
    templates: dict[str, Template] = {}
    for key, value in parameters.items():
        if key not in declared:
            raise TriggerError(
                f"pipeline {plan.name!r} has no parameter {key!r} (its parameters: "
                f"{', '.join(sorted(declared)) or 'none'})"
            )
        try:
            templates[key] = compile_template(value)
        except CelError as exc:
            raise TriggerError(f"parameter {key!r}: {exc}") from None
    constants = {k: t.value for k, t in templates.items() if t.constant}
    required = [
        k
        for k, d in declared.items()
        if k not in templates and "defaultValue" not in d and not d.get("isOptional")
    ]
    if required:
        raise TriggerError(
            f"pipeline {plan.name!r} needs parameter {required[0]!r}, which has no default: "
            f"map it from the event (-p {required[0]}='{{{{ data.{required[0]} }}}}') or give "
            "a constant"
        )
    if plan.artifact_inputs(ROOT):
        raise TriggerError(
            f"pipeline {plan.name!r} takes input artifacts "
            f"({', '.join(sorted(plan.artifact_inputs(ROOT)))}); triggers start pipelines "
            "that take parameters only"
        )
    try:
        for key, value in constants.items():
            ptype = declared[key].get("parameterType", "")
            coerce(value, ptype, task=ROOT, field=f"parameter {key!r}")
    except SpecError as exc:
        raise TriggerError(str(exc)) from None
    return CompiledTrigger(
        name=name,
        namespace=namespace,
        event_type=event_type,
        subject=subject,
        filter=compiled_filter,
        templates=templates,
    )
