"""Each face's default limits, from the settings. Kept apart from the faces' apps, so that the
command line can check them (and name the faces) without loading every app."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from ticketd.limiting.config import FaceLimits, face_limits
from ticketd.limiting.policies import PolicyError
from ticketd.settings import Settings


def native_limits(settings: Settings) -> FaceLimits:
    return face_limits(settings, "native", headers=True)


def wallet_limits(settings: Settings) -> FaceLimits:
    return face_limits(settings, "wallet")


def onecloud_limits(settings: Settings) -> FaceLimits:
    # The vendor's usage quota per site: daily service hours and a daily allowance.
    return face_limits(
        settings,
        "onecloud",
        service_hours=settings.onecloud_service_hours,
        daily_allowance=settings.onecloud_daily_allowance,
        time_zone=ZoneInfo(settings.onecloud_time_zone),
    )


def prioticket_limits(settings: Settings) -> FaceLimits:
    # Fair use as the Distributor API documents it: at most 1000 requests per rolling minute per
    # IP, and a client with more than 60 responses in the 4xx range within a minute is blocked
    # for one minute.
    return face_limits(settings, "prioticket", ip="1000/minute", rolling_ip=True, errors="60/minute")


def huawei_limits(settings: Settings) -> FaceLimits:
    return face_limits(settings, "huawei")


FACE_LIMITS: dict[str, Callable[[Settings], FaceLimits]] = {
    "native": native_limits,
    "wallet": wallet_limits,
    "onecloud": onecloud_limits,
    "prioticket": prioticket_limits,
    "huawei": huawei_limits,
}
FACE_NAMES = tuple(FACE_LIMITS)


def check_face_limits(settings: Settings) -> None:
    """Every face's limits can be built; raises PolicyError naming TICKETD_FACE_LIMITS when not."""
    unknown = settings.face_limits.keys() - FACE_LIMITS.keys()
    if unknown:
        raise PolicyError(
            f"TICKETD_FACE_LIMITS: no face {', '.join(map(repr, sorted(unknown)))}; "
            f"faces are {', '.join(FACE_NAMES)}"
        )
    for limits_of in FACE_LIMITS.values():
        try:
            limits_of(settings)
        except PolicyError as exc:
            raise PolicyError(f"TICKETD_FACE_LIMITS: {exc}") from exc
