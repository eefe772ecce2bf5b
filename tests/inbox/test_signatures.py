"""The request signing of the SMS adapters against the providers' published worked examples.

- Alibaba Cloud, "V2 RPC 风格请求体 & 签名机制" / "RPC API signature": the ECS DescribeRegions
  example with AccessKeySecret ``testsecret`` signs to ``OLeaidS1JvxuMvnyHOwuJ+uX5qY=``; the SMS
  product's "HTTP协议及签名" page (help.aliyun.com/document_detail/56189) works SendSms through
  with AccessKeySecret ``testSecret`` to ``zJDF+Lrzhj/ThnlvIToysFRq6t4=``.
- Tencent Cloud, "签名方法 v3" (Signature v3), section "签名过程": CVM DescribeInstances with
  SecretKey ``Gu5t9xGARNpq86cd98joQYCN3EXAMPLE`` at timestamp 1551113065 gives the hashed
  payload ``35e9c5b0...``, the hashed canonical request ``5ffe6a04...`` and the signature
  ``72e494ea...``.
"""

from __future__ import annotations

from inbox.channels import aliyun_signature, aliyun_string_to_sign, tc3_authorization

DESCRIBE_REGIONS = {
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "Format": "XML",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "SignatureVersion": "1.0",
    "Timestamp": "2016-02-23T12:46:24Z",
    "Version": "2014-05-26",
}

SEND_SMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_aliyun_rpc_signature_matches_the_published_example():
    assert aliyun_string_to_sign("GET", DESCRIBE_REGIONS) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z"
        "%26Version%3D2014-05-26"
    )
    assert aliyun_signature("GET", DESCRIBE_REGIONS, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_send_sms_signature_matches_the_sms_documentation_example():
    # Chinese sign name, JSON template parameters: the encoding cases that go wrong.
    assert aliyun_string_to_sign("GET", SEND_SMS).startswith(
        "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
        "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF"
    )
    assert aliyun_signature("GET", SEND_SMS, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_tencent_tc3_signature_matches_the_published_example():
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    authorization = tc3_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        timestamp=1551113065,
        payload=payload,
    )
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )
