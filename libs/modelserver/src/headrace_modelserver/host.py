"""The one model a server process serves: its loading state, and the call into it.

Loading runs in a thread after the server starts, so liveness answers at once and readiness
says when the model can serve. A model that fails to load stays not ready with the reason,
which ``/v2/models/{name}/ready`` and the log both give.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .batching import Batcher
from .errors import ModelNotReady, ModelServerError, PredictionFailed, UnknownModel
from .formats import LoadedModel, load_model
from .settings import ServerSettings
from .signature import Signature
from .storage import Resolver, default_cache_dir, fetch_model

__all__ = ["ModelHost"]

log = logging.getLogger("headrace.modelserver")


class ModelHost:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.name = settings.model_name
        self.version = settings.model_version or "1"
        self.model: LoadedModel | None = None
        self.reason = "the model is loading"
        self.batcher: Batcher | None = None
        self.loaded = threading.Event()
        """Set once loading has ended, ready or not (for whoever waits in another thread)."""

    # loading ---------------------------------------------------------------------------

    def load(self) -> None:
        """Fetch and load the model (blocking); on failure keep the reason, never raise."""
        try:
            self.model = self._load()
        except ModelServerError as exc:
            self.reason = exc.message
            log.error("model %r is not ready: %s", self.name, exc.message)
        except Exception as exc:  # a format library's own failure
            self.reason = f"{type(exc).__name__}: {exc}"
            log.error("model %r is not ready: %s", self.name, self.reason, exc_info=True)
        else:
            self.reason = ""
            log.info("model %r version %s is ready", self.name, self.version)
        finally:
            self.loaded.set()

    def _load(self) -> LoadedModel:
        settings = self.settings
        cache = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
        fetched = fetch_model(settings.storage_uri, cache, resolve=self._resolver())
        if fetched.version and self.settings.model_version is None:
            self.version = fetched.version
        return load_model(fetched.path, settings.format)

    def _resolver(self) -> Resolver | None:
        settings = self.settings
        if not settings.storage_uri.startswith("models:/"):
            return None
        from .registry import resolve_with_registry

        nats_url = settings.nats_url or "nats://127.0.0.1:4222"

        def resolve(uri: str) -> tuple[str, str, str]:
            return resolve_with_registry(uri, nats_url=nats_url, namespace=settings.namespace)

        return resolve

    async def start(self) -> None:
        await asyncio.to_thread(self.load)
        if self.settings.freeze_gc:
            # The model's objects live as long as the process: keep them out of the
            # collector's full passes, which would otherwise walk them while requests wait.
            gc.freeze()
        if self.model is not None and self.settings.max_batch_size > 1:
            self.batcher = Batcher(
                self._call,
                max_batch_size=self.settings.max_batch_size,
                max_latency=self.settings.max_latency_ms / 1000,
            )

    # serving ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.model is not None

    def check(self, name: str, version: str | None = None) -> LoadedModel:
        """The loaded model if ``name`` (and ``version``) is this one: 404 or 503 otherwise."""
        if name != self.name or (version is not None and version != self.version):
            which = f"{name!r}" + (f" version {version!r}" if version is not None else "")
            raise UnknownModel(
                f"unknown model {which}: this server serves {self.name!r} version {self.version}"
            )
        if self.model is None:
            raise ModelNotReady(f"model {self.name!r} is not ready: {self.reason}")
        return self.model

    @property
    def signature(self) -> Signature:
        assert self.model is not None
        return self.model.signature

    async def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.batcher is not None:
            return await self.batcher.submit(inputs)
        return await self._call(inputs)

    async def _call(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        model = self.model
        assert model is not None
        try:
            if model.releases_gil:
                return await asyncio.to_thread(model.predict, inputs)
            return model.predict(inputs)
        except ModelServerError:
            raise
        except Exception as exc:
            raise PredictionFailed(
                f"model {self.name!r} failed: {type(exc).__name__}: {exc}"
            ) from None
