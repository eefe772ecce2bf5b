"""The one API exception handler (gridmap.api): every error an API view lets through gets the
API's body. Services raise Django's exceptions; views do not catch them."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import translation
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from gridmap.api import MSG_INVALID, Invalid, error_dict, first_message
from gridmap.params import InputSerializer


def answer(exc: Exception) -> Response:
    """What an API view answers when ``exc`` escapes it."""

    class Raising(APIView):
        authentication_classes: list = []
        permission_classes: list = []

        def get(self, request: Request) -> Response:
            raise exc

    return Raising.as_view()(APIRequestFactory().get("/"))


# --- Django's ValidationError ---------------------------------------------------------------
def test_a_field_error_is_400_with_the_first_message_as_detail():
    res = answer(DjangoValidationError({"name": ["Name it.", "Shorter."], "code": "Bad code."}))

    assert res.status_code == 400
    assert res.data == {
        "detail": "Name it.",
        "errors": {"name": ["Name it.", "Shorter."], "code": ["Bad code."]},
    }


def test_messages_without_a_field_are_non_field_errors():
    res = answer(DjangoValidationError(["First.", "Second."]))

    assert res.status_code == 400
    assert res.data == {"detail": "First.", "errors": {"non_field_errors": ["First.", "Second."]}}


def test_a_single_message_with_params_is_rendered():
    res = answer(DjangoValidationError("Station %(code)s is locked.", params={"code": "S01"}))

    assert res.data == {
        "detail": "Station S01 is locked.",
        "errors": {"non_field_errors": ["Station S01 is locked."]},
    }


def test_a_model_full_clean_error_keeps_its_fields():
    exc = DjangoValidationError({"constraints": ["Too many villages."]})
    assert error_dict(exc) == {"constraints": ["Too many villages."]}
    assert answer(exc).data["errors"] == {"constraints": ["Too many villages."]}


# --- Django's PermissionDenied and Http404, as DRF answers them -----------------------------
def test_permission_denied_is_403_with_its_message():
    res = answer(PermissionDenied("You may not plan 990101001."))
    assert (res.status_code, res.data) == (403, {"detail": "You may not plan 990101001."})


def test_permission_denied_without_a_message_has_drf_s():
    with translation.override("en"):
        res = answer(PermissionDenied())
    assert res.status_code == 403
    assert res.data == {"detail": "You do not have permission to perform this action."}


def test_http404_is_404_with_its_message():
    res = answer(Http404("There is no plan 7 in your jurisdiction."))
    assert (res.status_code, res.data) == (
        404,
        {"detail": "There is no plan 7 in your jurisdiction."},
    )


# --- DRF's own errors, as before ------------------------------------------------------------
def test_a_drf_field_error_dict_gets_the_generic_detail():
    res = answer(DRFValidationError({"bbox": ["bbox must be four numbers."]}))
    assert res.status_code == 400
    detail = translation.gettext(MSG_INVALID)
    assert res.data == {"detail": detail, "errors": {"bbox": ["bbox must be four numbers."]}}


def test_the_generic_detail_is_in_the_reader_s_language():
    """It stayed English in Chinese mode (issue 11)."""
    with translation.override("zh-hans"):
        res = answer(DRFValidationError({"bbox": ["bbox must be four numbers."]}))
    assert res.data["detail"] == "请求中有无效的字段，请检查后重试。"
    with translation.override("en"):
        res = answer(DRFValidationError({"bbox": ["bbox must be four numbers."]}))
    assert res.data["detail"] == "The request has invalid fields."


def test_a_body_with_detail_is_kept_as_it_is():
    res = answer(NotFound("There is no grid 99."))
    assert (res.status_code, res.data) == (404, {"detail": "There is no grid 99."})
    res = answer(DRFValidationError({"detail": "Bad week.", "errors": {"week": ["Bad week."]}}))
    assert res.data == {"detail": "Bad week.", "errors": {"week": ["Bad week."]}}


def test_invalid_has_the_first_message_as_detail():
    res = answer(Invalid({"geometry": ["Place it."], "category": ["Choose a category."]}))
    assert res.status_code == 400
    assert res.data == {
        "detail": "Place it.",
        "errors": {"geometry": ["Place it."], "category": ["Choose a category."]},
    }
    assert answer(Invalid({})).data == {"detail": translation.gettext(MSG_INVALID), "errors": {}}
    assert answer(Invalid({}, default="Nothing was saved.")).data["detail"] == "Nothing was saved."


def test_any_other_exception_is_not_answered():
    with pytest.raises(ZeroDivisionError):
        answer(ZeroDivisionError())


def test_first_message_reads_nested_errors_in_order():
    assert first_message({"a": [], "b": {"0": ["deep"]}, "c": ["later"]}) == "deep"
    assert first_message({}) is None


# --- input serializers answer in the same shape --------------------------------------------
class Input(InputSerializer):
    name = serializers.CharField()
    size = serializers.IntegerField()


class OneAtATime(Input):
    first_error_only = True


def test_an_input_serializer_raises_every_field_error_with_the_first_as_detail():
    serializer = Input(data={"size": "x"})
    with translation.override("en"), pytest.raises(Invalid) as raised:
        serializer.is_valid(raise_exception=True)
    body = raised.value.detail
    assert set(body) == {"detail", "errors"}
    assert list(body["errors"]) == ["name", "size"]
    assert str(body["detail"]) == str(body["errors"]["name"][0]) == "This field is required."


def test_first_error_only_reports_the_first_bad_field():
    with pytest.raises(Invalid) as raised:
        OneAtATime(data={"size": "x"}).is_valid(raise_exception=True)
    assert list(raised.value.detail["errors"]) == ["name"]


def test_without_raise_exception_is_valid_only_answers():
    serializer = Input(data={})
    assert serializer.is_valid() is False
    assert set(serializer.errors) == {"name", "size"}
    assert Input(data={"name": "x", "size": 3}).is_valid(raise_exception=True) is True
