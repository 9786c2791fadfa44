"""The runtime every Headrace service is built on: settings from the environment, its own
database, idempotent handlers, a transactional outbox and a clean lifecycle."""

from .context import HandlerContext, Pending, flush_pending
from .database import SchemaUpgradeError, build_engine, create_tables, schema_for
from .heap import settle_heap
from .outbox import OutboxRelay, outbox_row
from .service import Service, run_service
from .settings import (
    Settings,
    SettingsError,
    default_home,
    load_settings,
    settings_from_environment,
)
from .tables import RUNTIME_TABLES, OutboxMessage, ProcessedMessage
from .threads import share_interpreter

__all__ = [
    "RUNTIME_TABLES",
    "HandlerContext",
    "OutboxMessage",
    "OutboxRelay",
    "Pending",
    "ProcessedMessage",
    "SchemaUpgradeError",
    "Service",
    "Settings",
    "SettingsError",
    "build_engine",
    "create_tables",
    "default_home",
    "flush_pending",
    "load_settings",
    "outbox_row",
    "run_service",
    "schema_for",
    "settings_from_environment",
    "settle_heap",
    "share_interpreter",
]
