"""The OSM case API and the IAM token API, at Huawei Cloud's paths."""

from __future__ import annotations

from fastapi import FastAPI

from ticketd.faces.apps import face_app
from ticketd.faces.error_handlers import install_error_handlers
from ticketd.faces.huawei import routes_accessories, routes_cases, routes_config, routes_iam, routes_labels
from ticketd.faces.huawei.auth import HuaweiAuth
from ticketd.faces.huawei.errors import ERROR_DOCS, FACE_ERRORS
from ticketd.faces.huawei.paths import CASES
from ticketd.web.services import Services

# The operations' names in the vendor's SDKs (huaweicloudsdkosm, huaweicloudsdkiam).
OPERATION_IDS = {
    "tokens": "KeystoneCreateUserTokenByPassword",
    "case_status": "ShowCaseStatus",
    "create_case": "CreateCases",
    "list_cases": "ListCases",
    "count_cases": "ListCaseCounts",
    "case_detail": "ShowCaseDetail",
    "list_messages": "ListMessages",
    "create_message": "CreateMessages",
    "operate": "UpdateCases",
    "operate_logs": "ListCaseOperateLogs",
    "list_labels": "ListLabels",
    "create_label": "CreateLabels",
    "case_labels": "ListCaseLabels",
    "add_case_labels": "CreateCaseLabels",
    "remove_case_labels": "DeleteCaseLabels",
    "severities": "ListSeverities",
    "categories": "ListCaseCategories",
    "upload": "UploadAccessory",
    "upload_json": "UploadJsonAccessories",
    "download": "DownloadAccessories",
    "download_image": "DownloadImages",
    "access_url": "ShowDownloadAccessoryUrl",
    "access_urls": "ListAccessoryAccessUrls",
    "limits": "ShowAccessoryLimits",
    "delete": "DeleteAccessories",
    "by_link": "DownloadAccessoryByAccessUrl",
}


def build_huawei_app(services: Services) -> FastAPI:
    app = face_app(
        services,
        title="Huawei Cloud OSM service tickets (ticketd)",
        version="2",
        description="OSM cases and the IAM token API as ticketd serves them. See docs/faces/huawei.md.",
        openapi_url=f"{CASES}/openapi.json",
        errors=ERROR_DOCS,
        operation_ids=OPERATION_IDS,
    )
    app.state.auth = HuaweiAuth(services)
    install_error_handlers(app, FACE_ERRORS)
    for module in (routes_iam, routes_cases, routes_labels, routes_config, routes_accessories):
        app.include_router(module.router)
    return app
