"""OneCloud's code tables. The vendor publishes only the codes its examples show (TP1, TT1, EMAIL,
TS7 on a closed ticket, category 332 "Question"); the rest of each table is ticketd's choice, in
the same style, and is documented in docs/faces/onecloud.md.
"""

from __future__ import annotations

# ticketd priority -> (PriorityId, PriorityValue, display name)
PRIORITIES: dict[str, tuple[str, str, str]] = {
    "low": ("TP1", "0", "Low"),
    "normal": ("TP2", "1", "Normal"),
    "high": ("TP3", "2", "High"),
    "urgent": ("TP4", "3", "Urgent"),
}
# ticketd type -> TypeId
TYPES: dict[str, str] = {
    "question": "TT1",
    "incident": "TT2",
    "problem": "TT3",
    "request": "TT4",
    "task": "TT5",
}
# ticketd channel -> (MediaId, display name)
MEDIA: dict[str, tuple[str, str]] = {
    "email": ("EMAIL", "Email"),
    "web": ("WEB", "Web"),
    "phone": ("PHONE", "Phone"),
    "chat": ("CHAT", "Chat"),
    "api": ("API", "API"),
    "social": ("SOCMED", "Social Media"),
    "other": ("OTHER", "Other"),
}
# ticketd status -> (StatusId, display name); TS7 is the seed's closed ticket.
STATUSES: dict[str, tuple[str, str]] = {
    "new": ("TS1", "New"),
    "open": ("TS2", "Open"),
    "pending": ("TS3", "Pending"),
    "solved": ("TS4", "Solved"),
    "canceled": ("TS5", "Canceled"),
    "invalid": ("TS6", "Invalid"),
    "closed": ("TS7", "Closed"),
}
# Category ids <-> names; 332 "Question" is the seed's. A ticket whose category is none of these
# (a free-text category set through another face) shows CategoryId null.
CATEGORIES: dict[str, str] = {
    "331": "Information",
    "332": "Question",
    "333": "Complaint",
    "334": "Request",
    "335": "Incident",
    "336": "Problem",
    "339": "Other",
}
CATEGORY_IDS = {name.lower(): code for code, name in CATEGORIES.items()}


def category_id(category: str | None) -> str | None:
    if category is None:
        return None
    if category in CATEGORIES:
        return category
    return CATEGORY_IDS.get(category.lower())


def category_name(value: str) -> str:
    """A category given as an id or a name, as ticketd stores it (the name)."""
    return CATEGORIES.get(value.strip(), value.strip())
