"""What the services' Kubernetes backends share (the trainer's Jobs, the serving data plane's
Deployments): deterministic names and label values (`names`), an API call's failure as a
sentence with the fix (`errors`), the cluster's client configuration (`connection`), and a
streamed response (a watch, a followed log) read in a thread (`streams`). Nothing here knows
a service."""

from .connection import ConfigurationError, load_configuration
from .errors import Action, explain, status_of
from .names import LABEL_MAX, dns_label, label_value
from .streams import Lines

__all__ = [
    "LABEL_MAX",
    "Action",
    "ConfigurationError",
    "Lines",
    "dns_label",
    "explain",
    "label_value",
    "load_configuration",
    "status_of",
]
