"""Helpers for the end-to-end tests: the real stack, polling, the billing scenario."""
