"""The console: the billing team's daily work in a browser, served by the gateway at
``/console/``. It is a client of the public API only: every page and every button is a call
to the gateway's own ``/v1`` API with the signed-in key, so the roles, limits and audit of
the API apply to it unchanged."""

from services.console.app import install

__all__ = ["install"]
