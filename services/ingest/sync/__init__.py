"""The daily pull of connected modules: connections and their credentials, connectors, the
schedule (pure), the sync history (queries), the runner (the loop) and the use cases."""
