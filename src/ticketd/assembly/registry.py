"""Every face ticketd can serve, in the order they are matched and listed. `TICKETD_FACES` picks
which are on (empty: all of them). Adding a face: its package, and one line here."""

from __future__ import annotations

from ticketd.faces.console.face import FACE as CONSOLE
from ticketd.faces.face import Face, FaceDefinition
from ticketd.faces.huawei.face import FACE as HUAWEI
from ticketd.faces.native.face import FACE as NATIVE
from ticketd.faces.onecloud.face import FACE as ONECLOUD
from ticketd.faces.prioticket.face import FACE as PRIOTICKET
from ticketd.faces.status.face import FACE as STATUS
from ticketd.faces.wallet.face import FACE as WALLET
from ticketd.limiting.policies import PolicyError
from ticketd.settings import Settings
from ticketd.web.guards import ErrorRenderer
from ticketd.web.services import Services

FACES: tuple[FaceDefinition, ...] = (NATIVE, WALLET, ONECLOUD, PRIOTICKET, HUAWEI, STATUS, CONSOLE)
FACE_NAMES = tuple(face.name for face in FACES)
# The faces that are APIs, each with its OpenAPI document (the console is pages for people).
API_FACES: tuple[FaceDefinition, ...] = tuple(face for face in FACES if face.openapi_path is not None)
# A path no face owns is answered in the native face's format.
FALLBACK_RENDERER: ErrorRenderer = NATIVE.render_error


def enabled_faces(settings: Settings) -> list[FaceDefinition]:
    """The faces `TICKETD_FACES` names (all when it is empty); ValueError names any unknown one."""
    wanted = settings.face_names
    if wanted is None:
        return list(FACES)
    unknown = wanted - set(FACE_NAMES)
    if unknown:
        raise ValueError(f"unknown faces in TICKETD_FACES: {', '.join(sorted(unknown))}")
    return [face for face in FACES if face.name in wanted]


def build_faces(services: Services) -> list[Face]:
    faces = []
    for definition in enabled_faces(services.settings):
        built = definition.build(services)
        faces.append(
            Face(
                name=definition.name,
                rules=built.rules,
                app=built.app,
                limits=definition.limits(services.settings),
                refuse=definition.refuse,
                hot_routes=built.hot_routes,
            )
        )
    return faces


def check_face_limits(settings: Settings) -> None:
    """Every face's limits can be built; raises PolicyError naming TICKETD_FACE_LIMITS when not."""
    unknown = settings.face_limits.keys() - set(FACE_NAMES)
    if unknown:
        raise PolicyError(
            f"TICKETD_FACE_LIMITS: no face {', '.join(map(repr, sorted(unknown)))}; "
            f"faces are {', '.join(FACE_NAMES)}"
        )
    for face in FACES:
        try:
            face.limits(settings)
        except PolicyError as exc:
            raise PolicyError(f"TICKETD_FACE_LIMITS: {exc}") from exc
