"""Proactive content negotiation (RFC 9110 §12.5.1), small enough to run on the hot path."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=256)
def acceptable(accept: str | None, offered: tuple[str, ...]) -> str | None:
    """The offered media type the Accept header prefers, or None when it accepts none of them."""
    if not accept or not accept.strip():
        return offered[0]
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media_range = pieces[0].lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0 or "/" not in media_range:
            continue
        kind, _, subtype = media_range.partition("/")
        for position, media_type in enumerate(offered):
            offered_kind = media_type.partition("/")[0]
            if media_range == media_type:
                specificity = 2
            elif subtype == "*" and kind in (offered_kind, "*"):
                specificity = 0 if kind == "*" else 1
            else:
                continue
            candidate = (quality, specificity * 100 - position, media_type)
            if best is None or candidate > best:
                best = candidate
    return best[2] if best else None


def media_type_of(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()
