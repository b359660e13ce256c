"""The closed sets of values a ticket's classifying fields take. Faces map these to their own codes."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketType(StrEnum):
    QUESTION = "question"
    INCIDENT = "incident"
    PROBLEM = "problem"
    REQUEST = "request"
    TASK = "task"


class Channel(StrEnum):
    EMAIL = "email"
    WEB = "web"
    PHONE = "phone"
    CHAT = "chat"
    API = "api"
    SOCIAL = "social"
    OTHER = "other"
