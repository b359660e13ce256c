"""The official SDK (huaweicloudsdkosm) as a real client of a real `ticketd serve`, signing with AK/SK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkosm.v2 import (
    CreateCasesRequest,
    CreateMessageDoV2,
    CreateMessagesRequest,
    CreateMessageV2Req,
    CreateOrderIncidentV2Req,
    ListCasesRequest,
    ListMessagesRequest,
    OsmClient,
    ShowCaseDetailRequest,
    ShowCaseStatusRequest,
    UpdateCasesRequest,
    WorkOrderOperateV2Req,
)

from tests.web.test_server import _demo, _free_port, serving
from ticketd.settings import Settings


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, dict[str, Any]]]:
    demo = _demo(settings)
    port = _free_port()
    with serving(settings, port):
        yield f"http://127.0.0.1:{port}", demo


def _client(base: str, huawei: dict[str, str], sk: str | None = None) -> OsmClient:
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    credentials = GlobalCredentials(huawei["ak"], sk or huawei["sk"], huawei["domain_id"])
    return (
        OsmClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([base])
        .build()
    )


def test_the_sdk_works_for_create_list_detail_status_messages_and_actions(
    served: tuple[str, dict[str, Any]],
) -> None:
    base, demo = served
    client = _client(base, demo["huawei"])
    body = CreateOrderIncidentV2Req(
        business_type_id="1",
        simple_description="ECS cannot reach the internet",
        incident_sub_type_id="101",
        severity_id="3",
        region_id="cn-north-4",
    )
    created = client.create_cases(CreateCasesRequest(x_language="en-us", body=body))
    case_id = created.incident_id
    assert case_id and case_id.isdecimal()

    assert client.show_case_status(ShowCaseStatusRequest(case_id=case_id)).status == 0

    listed = client.list_cases(ListCasesRequest(incident_id=case_id, x_language="en-us", limit=10))
    assert listed.total_count == 1
    (info,) = listed.incident_info_list
    assert info.incident_id == case_id and info.status == 0
    assert info.business_type_name == "Technical issues" and info.incident_type_name == "Troubleshooting"

    chinese = client.list_cases(ListCasesRequest(incident_id=case_id)).incident_info_list[0]
    assert chinese.business_type_name == "技术类"

    message = CreateMessageV2Req(message=CreateMessageDoV2(content="Security group allows 0.0.0.0/0 now?"))
    client.create_messages(CreateMessagesRequest(case_id=case_id, body=message))
    messages = client.list_messages(ListMessagesRequest(case_id=case_id))
    assert messages.count == 1 and messages.message_list[0].content.startswith("Security group")

    detail = client.show_case_detail(ShowCaseDetailRequest(case_id=case_id, x_language="en-us"))
    info_detail = detail.incident_detail_info
    assert info_detail.incident_id == case_id and info_detail.severity_name == "Critical"
    assert len(info_detail.message_list) == 1

    client.update_cases(UpdateCasesRequest(case_id=case_id, action_id="cancel", body=WorkOrderOperateV2Req()))
    assert client.show_case_status(ShowCaseStatusRequest(case_id=case_id)).status == 4
    client.update_cases(UpdateCasesRequest(case_id=case_id, action_id="reopen", body=WorkOrderOperateV2Req()))
    assert client.show_case_status(ShowCaseStatusRequest(case_id=case_id)).status == 1

    # The same case, through the native face: one core.
    native = demo["native"]
    status = httpx2.get(
        f"{base}/api/v1/tickets/{case_id}/status", auth=(native["api_key_id"], native["api_key_secret"])
    )
    assert status.json()["status"] == "open"

    # A demo ticket created elsewhere, seen by the SDK with the mapped code.
    assert client.show_case_status(ShowCaseStatusRequest(case_id=str(demo["ticket_ids"][0]))).status == 0


# Refused the same way on both stores (the test above reads the key from each): once is enough.
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_wrong_secret_key_is_refused(served: tuple[str, dict[str, Any]]) -> None:
    base, demo = served
    client = _client(base, demo["huawei"], sk="not-the-secret")
    with pytest.raises(ClientRequestException) as caught:
        client.show_case_status(ShowCaseStatusRequest(case_id=str(demo["ticket_ids"][0])))
    assert caught.value.status_code == 401
    assert caught.value.error_code == "APIGW.0301"


# Refused the same way on both stores (the test above reads the key from each): once is enough.
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_stale_sdk_date_is_refused(served: tuple[str, dict[str, Any]]) -> None:
    base, demo = served
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    huawei = demo["huawei"]
    path = f"/v2/servicerequest/cases/{demo['ticket_ids'][0]}/status"
    request = SdkRequest(
        method="GET",
        schema="http",
        host=base.removeprefix("http://"),
        resource_path=path,
        query_params=[],
        header_params={"X-Sdk-Date": "20200101T000000Z", "X-Domain-Id": huawei["domain_id"]},
    )
    signed = Signer(GlobalCredentials(huawei["ak"], huawei["sk"], huawei["domain_id"])).sign(request)
    response = httpx2.get(base + path, headers=signed.header_params)
    assert response.status_code == 401
    assert response.json()["error_code"] == "APIGW.0301"
    fresh = SdkRequest(
        method="GET",
        schema="http",
        host=base.removeprefix("http://"),
        resource_path=path,
        query_params=[],
        header_params={"X-Domain-Id": huawei["domain_id"]},
    )
    signed = Signer(GlobalCredentials(huawei["ak"], huawei["sk"], huawei["domain_id"])).sign(fresh)
    assert httpx2.get(base + path, headers=signed.header_params).json() == {"status": 0}
