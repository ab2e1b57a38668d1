"""Operators: made by ``createoperator`` (through ``create_operator``), signed in to ``/admin/``
with their phone and a one-time code; nobody else reaches the admin."""

import io

import pytest
from django.core.management import CommandError, call_command

from shoploop.accounts import services
from shoploop.accounts.models import User
from shoploop.accounts.selectors import latest_debug_code

SIGN_IN = "/accounts/sign-in/"
OPERATOR_PHONE = "+8613312345678"


def test_createoperator_makes_a_staff_member_of_the_operators_group(db):
    out = io.StringIO()
    call_command("createoperator", "133 1234 5678", "--name", "运营小张", stdout=out)
    operator = User.objects.get(phone=OPERATOR_PHONE)
    assert operator.is_staff and not operator.is_superuser
    assert operator.display_name == "运营小张"
    assert operator.groups.filter(name=services.OPERATORS_GROUP).exists()
    assert operator.has_perm("deals_groups.view_group")
    # Changes go through admin actions that call services, never through change forms.
    assert not operator.has_perm("accounts.change_user")
    assert not operator.has_perm("accounts.delete_user")
    assert "/admin/" in out.getvalue()


def test_createoperator_refuses_a_taken_or_bad_number(db, make_user):
    make_user(phone=OPERATOR_PHONE)
    with pytest.raises(CommandError, match="already has an account"):
        call_command("createoperator", OPERATOR_PHONE, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("createoperator", "12345", stdout=io.StringIO())
    assert User.objects.count() == 1


def test_the_admin_sends_a_signed_out_visitor_to_the_phone_sign_in(db, client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == f"{SIGN_IN}?next=%2Fadmin%2F"
    assert b'name="phone"' in response.content and b'name="password"' not in response.content


def test_an_operator_signs_in_with_a_code_and_lands_in_the_admin(db, client):
    services.create_operator(phone=OPERATOR_PHONE, display_name="运营")
    client.post(SIGN_IN, {"action": "send", "phone": OPERATOR_PHONE, "next": "/admin/"})
    response = client.post(
        SIGN_IN,
        {
            "action": "verify",
            "phone": OPERATOR_PHONE,
            "code": latest_debug_code(OPERATOR_PHONE),
            "next": "/admin/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    admin_index = client.get("/admin/")
    assert admin_index.status_code == 200
    assert b"/admin/deals_groups/group/" in admin_index.content


def test_a_signed_in_buyer_is_kept_out_of_the_admin(client, user):
    client.force_login(user)
    assert client.get("/admin/", follow=True).status_code == 403
    assert client.get("/admin/accounts/user/", follow=True).status_code == 403


def test_the_admin_sign_in_never_redirects_off_site(client, operator):
    client.force_login(operator)
    response = client.get("/admin/login/?next=https://evil.example/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_admin_logout_signs_out(client, operator):
    client.force_login(operator)
    client.post("/admin/logout/")
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
