"""Headrace pipeline scheduler: runs KFP v2 pipelines as a DAG driven by events."""
