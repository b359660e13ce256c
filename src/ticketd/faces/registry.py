"""Every face ticketd can serve. `TICKETD_FACES` picks which are on."""

from __future__ import annotations

from collections.abc import Callable

from ticketd.faces.face import Face
from ticketd.faces.huawei.face import huawei_face
from ticketd.faces.native.face import native_face
from ticketd.faces.onecloud.face import onecloud_face
from ticketd.faces.prioticket.face import prioticket_face
from ticketd.faces.wallet.face import wallet_face
from ticketd.web.services import Services

BUILDERS: dict[str, Callable[[Services], Face]] = {
    "native": native_face,
    "wallet": wallet_face,
    "onecloud": onecloud_face,
    "prioticket": prioticket_face,
    "huawei": huawei_face,
}


def build_faces(services: Services) -> list[Face]:
    enabled = services.settings.enabled_faces
    unknown = enabled - BUILDERS.keys()
    if unknown:
        raise ValueError(f"unknown faces in TICKETD_FACES: {', '.join(sorted(unknown))}")
    return [build(services) for name, build in BUILDERS.items() if name in enabled]
