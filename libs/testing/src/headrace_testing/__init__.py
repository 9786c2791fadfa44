"""Test fixtures for Headrace: real nats-server, S3 server and databases."""

from .database import database_url_for, postgres_url, reset_postgres
from .locks import lock_held
from .nats import TestNats, nats_for_test
from .process import BlockingServiceProcess, ServiceProcess
from .settings import service_settings
from .waiting import wait_for

__all__ = [
    "BlockingServiceProcess",
    "ServiceProcess",
    "TestNats",
    "database_url_for",
    "lock_held",
    "nats_for_test",
    "postgres_url",
    "reset_postgres",
    "service_settings",
    "wait_for",
]
