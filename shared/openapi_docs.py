"""What the public API's models share so that the OpenAPI document describes every field.

Models of the API derive from :class:`ApiModel`: a field's docstring, the string right below
it, becomes its description in the document (``Field(description=...)`` works too and wins).
The gateway's document check (``services/gateway/openapi_check.py``) refuses a property
without one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["ApiModel", "examples"]


class ApiModel(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)


def examples(*values: dict[str, Any]) -> dict[str, Any]:
    """``json_schema_extra`` for a request model: the gateway shows the first example as the
    request body's, prefilled in Swagger UI's "Try it out"."""
    return {"examples": list(values)}
