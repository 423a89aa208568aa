"""Prefect flows: thin wrappers that run the coig library's stages as tasks."""
