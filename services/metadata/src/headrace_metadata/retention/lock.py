"""One sweeper at a time across replicas: a lock row with an expiry in the service's own
database (``metadata_retention_lock``), taken with plain INSERT/UPDATE so it works the same
on SQLite and PostgreSQL. A replica that dies holding it loses it when it expires.

Times are UTC (the runtime stores every datetime as UTC on both databases).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col

__all__ = ["RetentionLock", "acquire", "release"]

LOCK_NAME = "retention"


class RetentionLock(SQLModel, table=True):
    __tablename__ = "metadata_retention_lock"

    name: str = Field(primary_key=True, max_length=50)
    holder: str = Field(max_length=200)
    expires_at: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


def acquire(engine: Engine, holder: str, seconds: float) -> bool:
    """Take (or extend) the lock for ``seconds``; False while another holder's is unexpired."""
    now = _utcnow()
    until = now + timedelta(seconds=seconds)
    with Session(engine) as session:
        session.add(RetentionLock(name=LOCK_NAME, holder=holder, expires_at=until))
        try:
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
        session.execute(
            update(RetentionLock)
            .where(
                col(RetentionLock.name) == LOCK_NAME,
                or_(col(RetentionLock.expires_at) < now, col(RetentionLock.holder) == holder),
            )
            .values(holder=holder, expires_at=until)
        )
        session.commit()
        row = session.get(RetentionLock, LOCK_NAME)
        return row is not None and row.holder == holder


def release(engine: Engine, holder: str) -> None:
    """Let the lock go at once, if ``holder`` holds it."""
    with Session(engine) as session:
        session.execute(
            update(RetentionLock)
            .where(col(RetentionLock.name) == LOCK_NAME, col(RetentionLock.holder) == holder)
            .values(expires_at=_utcnow() - timedelta(seconds=1))
        )
        session.commit()
