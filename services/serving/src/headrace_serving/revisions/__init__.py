"""Revisions at run time: model-server replicas as local processes (``revision``,
``replica``, ``process``)."""
