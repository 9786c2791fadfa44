"""Headrace tuner: Katib experiments and trials."""
