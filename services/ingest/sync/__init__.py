"""The daily pull of connected modules: schedule (pure), store (queries), runner (the loop)."""
