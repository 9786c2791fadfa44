"""Headrace workload launcher: steps and training jobs as local processes or Kubernetes Jobs."""
