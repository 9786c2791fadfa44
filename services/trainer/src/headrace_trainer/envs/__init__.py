"""Per-step Python environments: ``packages_to_install`` and ``pip_index_urls`` of a
lightweight component honoured with uv, layered over the platform's environment, cached
under ``<home>/envs`` by digest and reused through their own warm fork servers."""

from .build import BuildOptions, EnvironmentFailed, platform_site_dirs
from .manager import StepEnvironments
from .requirements import StepRequirements, environment_digest, parse_pip_script, requirements_of
from .service import environments_for

__all__ = [
    "BuildOptions",
    "EnvironmentFailed",
    "StepEnvironments",
    "StepRequirements",
    "environment_digest",
    "environments_for",
    "parse_pip_script",
    "platform_site_dirs",
    "requirements_of",
]
