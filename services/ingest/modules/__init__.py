"""The module catalog as a tenant sees it, and billing enablement per module."""
