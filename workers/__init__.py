"""Celery entry points: thin tasks that call services with ids."""
