"""The schemas the answers are checked against can fail: each refuses an answer that breaks
the specification in a way an implementation could (so a passing answer means something)."""

from __future__ import annotations

import jsonschema
import pytest
import xmlschema

from .conftest import json_schema, xml_schema

REQUEST_XML = (
    "<service_requests><request><service_request_id>1</service_request_id>{status}"
    "<status_notes/><service_name/><service_code>dispute</service_code><description/>"
    "<agency_responsible/><service_notice/>"
    "<requested_datetime>{when}</requested_datetime><updated_datetime/><expected_datetime/>"
    "<address/><address_id/><zipcode/><lat>0.05</lat><long>100.02</long><media_url/>"
    "<extensions><severity>blue</severity><assignee><level/><place_code/><role/></assignee>"
    "<deadlines><acknowledge_by/><onsite_by/><resolve_by/></deadlines></extensions>"
    "</request></service_requests>"
)
GOOD = {"status": "<status>open</status>", "when": "2026-05-01T08:00:00+08:00"}


def test_the_request_xsd_takes_a_good_answer_and_refuses_broken_ones():
    schema = xml_schema("requests")
    schema.validate(REQUEST_XML.format(**GOOD))
    for broken in (
        {**GOOD, "status": ""},  # no status
        {**GOOD, "status": "<status>pending</status>"},  # not open/closed
        {**GOOD, "when": "2026-05-01 08:00"},  # not W3C
        {**GOOD, "when": "2026-05-01T08:00:00"},  # no offset
    ):
        with pytest.raises(xmlschema.XMLSchemaValidationError):
            schema.validate(REQUEST_XML.format(**broken))


def test_the_error_schemas_refuse_a_success_code_and_a_missing_description():
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        xml_schema("errors").validate("<errors><error><code>200</code>"
                                      "<description>x</description></error></errors>")  # fmt: skip
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        xml_schema("errors").validate("<errors><error><code>400</code></error></errors>")
    with pytest.raises(jsonschema.ValidationError):
        json_schema("errors").validate([{"code": 400}])
    with pytest.raises(jsonschema.ValidationError):
        json_schema("errors").validate([])


def test_the_json_schemas_refuse_what_the_specification_does_not_allow():
    with pytest.raises(jsonschema.ValidationError):
        service = {"service_code": "x", "service_name": "x", "description": "",
                   "metadata": "yes", "type": "realtime", "keywords": "", "group": ""}  # fmt: skip
        json_schema("services").validate([service])
    with pytest.raises(jsonschema.ValidationError):  # a list attribute without values
        json_schema("service_definition").validate(
            {"service_code": "x", "attributes": [
                {"variable": True, "code": "s", "datatype": "singlevaluelist",
                 "required": False, "datatype_description": "", "order": 1,
                 "description": ""}]}
        )  # fmt: skip
    with pytest.raises(jsonschema.ValidationError):  # neither an id nor a token
        json_schema("post_request").validate([{"service_notice": ""}])
    with pytest.raises(jsonschema.ValidationError):  # a reporter's e-mail is no field
        json_schema("requests").validate(
            [{"service_request_id": "1", "status": "open", "service_code": "x",
              "requested_datetime": "2026-05-01T08:00:00+08:00", "lat": 0, "long": 0,
              "email": "a@example.org"}]
        )  # fmt: skip
