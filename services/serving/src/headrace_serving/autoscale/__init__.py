"""Replicas from observed concurrency: the pure policy and the loop that applies it."""

from .meter import ConcurrencyMeter
from .policy import ScalePolicy, ScaleSettings, desired_replicas

__all__ = ["ConcurrencyMeter", "ScalePolicy", "ScaleSettings", "desired_replicas"]
