"""``headrace-model-server``: serve one model over the Open Inference Protocol and KServe v1.

::

    headrace-model-server --model-name iris --storage-uri s3://models/iris/model.joblib \\
        [--format sklearn] [--port 8080] [--workers 4] [--max-batch-size 32 --max-latency 5]

``--workers N`` runs N processes accepting on one listening socket (uvicorn's supervisor);
each loads the model (from the shared digest-keyed cache after the first download).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette

from .formats import FORMATS
from .settings import SETTINGS_ENV, ServerSettings

__all__ = ["app_factory", "main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="headrace-model-server",
        description="Serve one model over the Open Inference Protocol (v2) and KServe v1 REST.",
    )
    parser.add_argument("--model-name", required=True, help="the name clients call it by")
    parser.add_argument(
        "--storage-uri",
        required=True,
        help="path, file:///abs/path, s3://bucket/key or models:/NAME@ALIAS|VERSION",
    )
    parser.add_argument("--format", choices=sorted(FORMATS), help="default: from the file suffix")
    parser.add_argument(
        "--model-version", help="the version it reports (default: the registry's, or 1)"
    )
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    parser.add_argument(
        "--max-batch-size", type=int, default=1, help="rows per model call; 1: no batching"
    )
    parser.add_argument(
        "--max-latency", type=float, default=5.0, help="ms a batch waits to fill (default 5)"
    )
    parser.add_argument(
        "--max-payload-bytes", type=int, default=64 * 1024 * 1024, help="larger bodies get 413"
    )
    parser.add_argument("--cache-dir", help="default: $HEADRACE_MODEL_CACHE or <home>/model-cache")
    parser.add_argument(
        "--nats-url",
        default=os.environ.get("HEADRACE_NATS_URL"),
        help="NATS of the platform, for models:/ URIs (default $HEADRACE_NATS_URL)",
    )
    parser.add_argument("--namespace", default="default", help="namespace of models:/ URIs")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.max_batch_size < 1 or args.max_latency < 0:
        parser.error("--workers and --max-batch-size must be >= 1, --max-latency >= 0")
    return args


def settings_from(args: argparse.Namespace) -> ServerSettings:
    return ServerSettings(
        model_name=args.model_name,
        storage_uri=args.storage_uri,
        format=args.format,
        model_version=args.model_version,
        max_batch_size=args.max_batch_size,
        max_latency_ms=args.max_latency,
        max_payload_bytes=args.max_payload_bytes,
        cache_dir=args.cache_dir,
        nats_url=args.nats_url,
        namespace=args.namespace,
        freeze_gc=True,
    )


def app_factory() -> Starlette:
    """The app of one worker process, from the settings the CLI put in the environment."""
    from .app import create_app

    return create_app(ServerSettings.from_env())


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    args = parse_args(argv)
    os.environ[SETTINGS_ENV] = settings_from(args).to_env()
    uvicorn.run(
        "headrace_modelserver.cli:app_factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        access_log=False,
        log_level=args.log_level.lower(),
        log_config=_log_config(args.log_level.upper()),
    )


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, and the server's own logger through the same handler (every
    worker process applies it)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["headrace"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


if __name__ == "__main__":
    main()
