"""A replica's log: read and followed from its file here, copied to the artifact store while
the replica runs (so it can be read from elsewhere, and is kept after the records go).

A file that grows gives no notice, so following polls it (`POLL_SECONDS`) until the
replica has ended and every line is read.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from headrace_artifacts import ArtifactStore, ArtifactStoreError

__all__ = ["POLL_SECONDS", "follow_lines", "store_lines", "upload", "upload_while"]

POLL_SECONDS = 0.1
CHUNK = 1 << 16
log = logging.getLogger("headrace.trainer.backends.local")


async def follow_lines(
    path: Path, ended: Callable[[], bool], *, follow: bool
) -> AsyncIterator[str]:
    """The lines of ``path`` (without line ends); with ``follow``, also those written later,
    until ``ended()`` holds and the file is read to its end."""
    pending = b""
    offset = 0
    while True:
        finished = ended()  # asked before reading: what it wrote before ending is read now
        try:
            with path.open("rb") as file:
                file.seek(offset)
                while chunk := file.read(CHUNK):
                    offset += len(chunk)
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        yield line.decode("utf-8", errors="replace")
        except FileNotFoundError:
            pass
        if not follow or finished:
            break
        await asyncio.sleep(POLL_SECONDS)
    if pending:
        yield pending.decode("utf-8", errors="replace")


async def store_lines(store: ArtifactStore, key: str) -> AsyncIterator[str]:
    """The lines of the log stored under ``key``."""
    text = await asyncio.to_thread(_read_stored, store, key)
    for line in text.splitlines():
        yield line


def _read_stored(store: ArtifactStore, key: str) -> str:
    with store.open_read(key) as reader:
        return reader.read().decode("utf-8", errors="replace")


async def upload(store: ArtifactStore, path: Path, key: str, *, sync: bool) -> None:
    """Copy the log to the store; a failure is logged (the replica runs on regardless)."""
    try:
        await asyncio.to_thread(_put, store, path, key, sync)
    except ArtifactStoreError as error:
        log.warning("the log %s could not be stored as %s: %s", path, key, error)


def _put(store: ArtifactStore, path: Path, key: str, sync: bool) -> None:
    if path.is_file():
        store.put_file(path, key, sync=sync)


async def upload_while(store: ArtifactStore, path: Path, key: str, every: float) -> None:
    """Copy the log to the store each ``every`` seconds it has grown, until cancelled."""
    size = -1
    while True:
        await asyncio.sleep(every)
        try:
            now = os.stat(path).st_size
        except OSError:
            continue
        if now != size:
            size = now
            await upload(store, path, key, sync=False)
