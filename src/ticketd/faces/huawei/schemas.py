"""OSM request bodies, with the vendor's field names and limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    business_type_id: str = Field(min_length=1, max_length=64)
    simple_description: str = Field(min_length=1, max_length=2000)
    incident_sub_type_id: str | None = Field(default=None, max_length=64)
    product_category_id: str | None = Field(default=None, max_length=64)
    region_id: str | None = Field(default=None, max_length=64)
    project_id: str | None = Field(default=None, max_length=64)
    severity_id: str | None = Field(default=None, max_length=64)
    source_id: str | None = Field(default=None, max_length=64)
    remind_mobile: str | None = Field(default=None, max_length=32)
    remind_mail: str | None = Field(default=None, max_length=254)
    # Accessories uploaded ahead (routes_accessories.py) that the new case carries.
    accessory_ids: list[str] | None = Field(default=None, max_length=100)


class MessageContent(BaseModel):
    content: str = Field(min_length=1, max_length=10_000)
    accessory_ids: list[str] | None = Field(default=None, max_length=100)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message: MessageContent
    group_id: str | None = None


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=64)
    color: str = Field(min_length=1, max_length=16)
