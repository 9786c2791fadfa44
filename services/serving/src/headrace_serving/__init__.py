"""Headrace serving manager: KServe InferenceServices."""
