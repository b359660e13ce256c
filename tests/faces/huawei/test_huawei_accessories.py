"""Accessories through the official SDK (huaweicloudsdkosm), signing with AK/SK, against a real
`ticketd serve` on both stores: every accessory route, cases and messages that carry them."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from typing import Any

import httpx2
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.formdata import FormFile
from huaweicloudsdkosm.v2 import (
    AccessoryJsonFormatReq,
    CreateCasesRequest,
    CreateMessageDoV2,
    CreateMessagesRequest,
    CreateMessageV2Req,
    CreateOrderIncidentV2Req,
    DeleteAccessoriesRequest,
    DownloadAccessoriesRequest,
    DownloadImagesRequest,
    ListAccessoryAccessUrlsRequest,
    ListMessagesRequest,
    OsmClient,
    ShowAccessoryLimitsRequest,
    ShowCaseDetailRequest,
    ShowDownloadAccessoryUrlRequest,
    UploadAccessoryRequest,
    UploadAccessoryRequestBody,
    UploadJsonAccessoriesRequest,
)

from tests.faces.huawei.test_huawei_sdk import _client, served  # noqa: F401 (a fixture)
from tests.faces.native.test_attachments_api import png


def _downloaded(response: Any) -> bytes:
    sink = io.BytesIO()
    # The SDK hands over its HTTP response (requests'), to be read as it streams.
    response.consume_download_stream(
        lambda stream: [sink.write(chunk) for chunk in stream.iter_content(1 << 16)]
    )
    return sink.getvalue()


def _upload_form(client: OsmClient, path: Path) -> str:
    with path.open("rb") as file:
        body = UploadAccessoryRequestBody(file=FormFile(file), form_data='{"accessory_from": "1"}')
        accessory_id: str = client.upload_accessory(UploadAccessoryRequest(body=body)).accessory_id
    return accessory_id


def _upload_json(client: OsmClient, name: str, data: bytes) -> str:
    body = AccessoryJsonFormatReq(
        accessory_name=name, accessory_from="1", upload_type=1, accessory_data=base64.b64encode(data).decode()
    )
    accessory_id: str = client.upload_json_accessories(UploadJsonAccessoriesRequest(body=body)).accessory_id
    return accessory_id


@pytest.fixture
def osm(served: tuple[str, dict[str, Any]]) -> tuple[OsmClient, str, dict[str, Any]]:  # noqa: F811
    base, demo = served
    return _client(base, demo["huawei"]), base, demo


def test_the_sdk_uploads_names_lists_downloads_and_deletes_accessories(
    osm: tuple[OsmClient, str, dict[str, Any]], tmp_path: Path
) -> None:
    client, base, demo = osm
    log = tmp_path / "ecs.log"
    log.write_bytes(b"kernel: eth0 link down\n" * 500)
    image = tmp_path / "console.png"
    image.write_bytes(png(4, 4))
    log_id = _upload_form(client, log)
    image_id = _upload_json(client, "console.png", image.read_bytes())
    assert log_id.isdecimal() and image_id.isdecimal() and log_id != image_id

    limits = client.show_accessory_limits(ShowAccessoryLimitsRequest()).accessory_limit
    assert limits.limit_count == "100" and limits.limit_size == "25" and limits.limit_file_type == "*"

    created = client.create_cases(
        CreateCasesRequest(
            body=CreateOrderIncidentV2Req(
                business_type_id="1", simple_description="ECS loses its network", accessory_ids=[log_id]
            )
        )
    )
    case_id = created.incident_id
    message = CreateMessageDoV2(content="a screenshot of the console", accessory_ids=[image_id])
    client.create_messages(CreateMessagesRequest(case_id=case_id, body=CreateMessageV2Req(message=message)))

    detail = client.show_case_detail(ShowCaseDetailRequest(case_id=case_id)).incident_detail_info
    (on_message,) = detail.message_list[0].accessory_list
    assert (on_message.accessory_id, on_message.file_actual_name) == (image_id, "console.png")
    listed = client.list_messages(ListMessagesRequest(case_id=case_id)).message_list
    assert [item.accessory_id for item in listed[0].accessory_list] == [image_id]
    # The case's own accessory, beside the messages (the SDK's model does not name it; a raw read does).
    raw = httpx2.get(
        f"{base}/v2/servicerequest/cases/{case_id}",
        headers={"X-Auth-Token": _token(base, demo)},
    ).json()["incident_detail_info"]
    assert raw["accessory_list"] == [{"accessory_id": log_id, "file_actual_name": "ecs.log"}]

    downloaded = _downloaded(client.download_accessories(DownloadAccessoriesRequest(accessory_id=log_id)))
    assert downloaded == log.read_bytes()
    pictured = _downloaded(client.download_images(DownloadImagesRequest(accessory_id=image_id)))
    assert pictured == image.read_bytes()
    with pytest.raises(ClientRequestException) as not_image:
        client.download_images(DownloadImagesRequest(accessory_id=log_id))
    assert not_image.value.status_code == 400 and not_image.value.error_code == "OSM.01010001"

    url = client.show_download_accessory_url(
        ShowDownloadAccessoryUrlRequest(accessory_id=log_id, incident_id=case_id)
    ).accessory_url
    assert url.startswith(base)
    anonymous = httpx2.get(url)  # no token, no signature: the link is the credential
    assert anonymous.status_code == 200 and anonymous.content == log.read_bytes()
    assert anonymous.headers["content-disposition"].startswith("attachment;")
    forged = httpx2.get(url.replace(f"/{log_id}/", f"/{image_id}/"))
    assert forged.status_code == 404 and forged.json()["error_code"] == "OSM.01040001"
    expired = httpx2.get(
        url.replace("expires=", "expires=1").split("&signature")[0] + "&signature=" + "0" * 64
    )
    assert expired.status_code == 404

    urls = client.list_accessory_access_urls(
        ListAccessoryAccessUrlsRequest(accessory_ids=[log_id, image_id])
    ).accessory_urls
    assert [(u.accessory_id, u.accessory_name) for u in urls] == [
        (log_id, "ecs.log"),
        (image_id, "console.png"),
    ]
    assert httpx2.get(urls[1].accessory_url).content == image.read_bytes()

    client.delete_accessories(DeleteAccessoriesRequest(accessory_id=image_id))
    with pytest.raises(ClientRequestException) as gone:
        client.download_accessories(DownloadAccessoriesRequest(accessory_id=image_id))
    assert gone.value.status_code == 404
    assert httpx2.get(urls[1].accessory_url).status_code == 404  # a removed file's link finds nothing
    detail = client.show_case_detail(ShowCaseDetailRequest(case_id=case_id)).incident_detail_info
    assert detail.message_list[0].accessory_list == []


def test_accessories_are_their_uploaders_until_a_case_names_them(
    osm: tuple[OsmClient, str, dict[str, Any]],
) -> None:
    client, base, demo = osm
    data = b"only mine for now"
    accessory_id = _upload_json(client, "mine.txt", data)
    token = _token(base, demo, user="customer")
    theirs = httpx2.get(
        f"{base}/v2/servicerequest/accessorys/{accessory_id}", headers={"X-Auth-Token": token}
    )
    assert theirs.status_code == 404
    # The customer cannot name it on a case of theirs either.
    refused = httpx2.post(
        f"{base}/v2/servicerequest/cases",
        json={"business_type_id": "1", "simple_description": "x", "accessory_ids": [accessory_id]},
        headers={"X-Auth-Token": token},
    )
    assert refused.status_code == 400 and refused.json()["error_code"] == "OSM.01010001"
    garbage = httpx2.post(
        f"{base}/v2/servicerequest/accessorys/json-format-content",
        json={"accessory_name": "x", "accessory_data": "not base64!"},
        headers={"X-Auth-Token": token},
    )
    assert garbage.status_code == 400 and "base64" in garbage.json()["error_msg"]
    own = _downloaded(client.download_accessories(DownloadAccessoriesRequest(accessory_id=accessory_id)))
    assert hashlib.sha256(own).digest() == hashlib.sha256(data).digest()


def _token(base: str, demo: dict[str, Any], user: str = "admin") -> str:
    huawei = demo["huawei"]
    password = demo["console"]["users"][user]
    response = httpx2.post(
        f"{base}/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": user, "password": password, "domain": {"name": huawei["domain"]}}
                    },
                }
            }
        },
    )
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]
