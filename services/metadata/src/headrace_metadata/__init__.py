"""Headrace metadata service: lineage (artifacts, executions) and the model registry."""
