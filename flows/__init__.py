"""Prefect flows: thin wrappers that run undertone's library functions as tasks."""
