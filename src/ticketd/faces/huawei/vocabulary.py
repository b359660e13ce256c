"""OSM's codes and display names, in the languages X-Language selects (zh-cn, the default, and en-us)."""

from __future__ import annotations

# ticketd status -> OSM case status (the seed's table)
STATUS_CODES: dict[str, int] = {
    "new": 0,
    "open": 1,
    "solved": 2,
    "closed": 3,
    "canceled": 4,
    "invalid": 12,
    "pending": 17,
}
STATUS_OF_CODE = {code: status for status, code in STATUS_CODES.items()}
STATUS_NAMES: dict[str, dict[int, str]] = {
    "zh-cn": {0: "待受理", 1: "处理中", 2: "待确认结果", 3: "已完成", 4: "已撤销", 12: "无效", 17: "待反馈"},
    "en-us": {
        0: "To be processed",
        1: "Processing",
        2: "To be confirmed",
        3: "Completed",
        4: "Canceled",
        12: "Invalid",
        17: "Pending feedback",
    },
}

# Business types (business_type_id -> names); a case's ticket keeps the id in `business_type`.
BUSINESS_TYPES: dict[str, dict[str, str]] = {
    "1": {"zh-cn": "技术类", "en-us": "Technical issues"},
    "2": {"zh-cn": "账务类", "en-us": "Billing issues"},
    "3": {"zh-cn": "账号类", "en-us": "Account issues"},
    "4": {"zh-cn": "其他", "en-us": "Other"},
}
# Sub types (incident_sub_type_id -> names): the categories endpoint.
SUB_TYPES: dict[str, dict[str, str]] = {
    "101": {"zh-cn": "故障排查", "en-us": "Troubleshooting"},
    "102": {"zh-cn": "咨询", "en-us": "Consultation"},
    "103": {"zh-cn": "需求", "en-us": "Requirement"},
    "201": {"zh-cn": "发票", "en-us": "Invoices"},
    "301": {"zh-cn": "实名认证", "en-us": "Real-name authentication"},
}
# Severities (severity_id -> names); ticketd priorities follow them.
SEVERITIES: dict[str, dict[str, str]] = {
    "1": {"zh-cn": "一般", "en-us": "Minor", "priority": "low"},
    "2": {"zh-cn": "重要", "en-us": "Major", "priority": "normal"},
    "3": {"zh-cn": "严重", "en-us": "Critical", "priority": "high"},
    "4": {"zh-cn": "紧急", "en-us": "Urgent", "priority": "urgent"},
}
LANGUAGES = ("zh-cn", "en-us")
DEFAULT_LANGUAGE = "zh-cn"
DEFAULT_TIME_ZONE = "GMT+8"


def language(header: str | None) -> str:
    """The display language: zh-cn and en-us are served; anything else falls back to zh-cn."""
    value = (header or DEFAULT_LANGUAGE).lower()
    return value if value in LANGUAGES else ("en-us" if value.startswith("en") else DEFAULT_LANGUAGE)


def name(table: dict[str, dict[str, str]], key: str | None, lang: str) -> str | None:
    entry = table.get(key or "")
    return entry[lang] if entry else None
