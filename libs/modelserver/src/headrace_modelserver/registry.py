"""``models:/NAME@ALIAS`` and ``models:/NAME/VERSION`` resolved by the metadata service.

The same request/reply query the CLI and client send (`ResolveModel`) over NATS; needs the
``registry`` extra (headrace-bus, headrace-contracts), imported only when such a URI is given.
"""

from __future__ import annotations

import asyncio

from .errors import MissingFormatLibrary, ModelLoadError

__all__ = ["resolve_with_registry"]


def resolve_with_registry(
    uri: str, *, nats_url: str, namespace: str = "default", timeout: float = 10.0
) -> tuple[str, str, str]:
    """(artifact URI, digest, version number) of the registered model version ``uri`` names."""
    return asyncio.run(_resolve(uri, nats_url, namespace, timeout))


async def _resolve(uri: str, nats_url: str, namespace: str, timeout: float) -> tuple[str, str, str]:
    try:
        from headrace_bus import Bus, BusConfig, NoResponders, RequestTimeout
        from headrace_contracts import ResolvedModel, ResolveModel
    except ImportError:
        raise MissingFormatLibrary("a models:/ URI", "headrace_bus", "registry") from None
    bus = Bus(
        BusConfig(url=nats_url, connect_timeout=timeout, client_name="headrace-model-server"),
        source="headrace-model-server",
    )
    try:
        try:
            await asyncio.wait_for(bus.connect(), timeout)
        except Exception as exc:
            raise ModelLoadError(
                f"cannot reach NATS at {nats_url} to resolve {uri}: {exc}"
            ) from None
        try:
            reply = await bus.request(ResolveModel(uri=uri, namespace=namespace), timeout=timeout)
        except (NoResponders, RequestTimeout):
            raise ModelLoadError(
                f"no metadata service answered on NATS at {nats_url} to resolve {uri}: start "
                "the platform with `headrace up`"
            ) from None
    finally:
        await bus.close()
    assert isinstance(reply, ResolvedModel)
    if reply.version is None:
        raise ModelLoadError(f"{uri} does not resolve: {reply.reason}")
    return reply.version.uri, reply.version.digest, str(reply.version.version)
