"""The local workload backend: gangs of replicas as processes on this machine."""

from .backend import LocalBackend

__all__ = ["LocalBackend"]
