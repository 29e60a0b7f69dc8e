"""What the assets routes answer with, and the multipart bodies they document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from core.models import AssetKind
from tools.asset_checks import MetaValue


class AssetOut(BaseModel):
    id: str
    kind: AssetKind
    name: str = Field(description="The uploaded file's name, kept only as a label.")
    size: int = Field(description="Bytes.")
    content_type: str = Field(description="Sniffed from the content, never taken from the upload.")
    meta: dict[str, MetaValue] = Field(
        description="Facts found in the file (width, height, duration_s, codecs) and, for a "
        "voice, the consent given (consent, consent_at)."
    )
    created_at: datetime
    content_url: str = Field(description="Where to download the file; honours Range requests.")


def upload_body(what: str, *, consent: bool = False) -> dict[str, Any]:
    """The request body a streamed upload route reads itself, written into the OpenAPI schema
    (FastAPI cannot see it: the route takes the raw request so it can stop at the size limit)."""
    properties: dict[str, Any] = {
        "file": {"type": "string", "format": "binary", "description": f"The {what}."}
    }
    required = ["file"]
    if consent:
        properties["consent"] = {
            "type": "boolean",
            "description": "The speaker agrees to their voice being cloned. Must be true.",
        }
        required.append("consent")
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": properties, "required": required}
                }
            },
        }
    }
