import pytest

pytestmark = pytest.mark.django_db


def test_nul_in_an_api_query_is_refused_with_a_code(client):
    response = client.get("/api/v1/catalog/products", {"q": "咖啡\x00"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"


def test_nul_escaped_in_a_json_body_is_refused(client):
    response = client.post(
        "/api/v1/accounts/otp/send",
        '{"phone": "138\\u00000000000"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"


def test_nul_in_a_page_form_is_refused(client):
    response = client.post("/accounts/sign-in/", {"phone": "1380000\x000000"})
    assert response.status_code == 400


def test_ordinary_requests_pass(client):
    assert client.get("/api/v1/catalog/products", {"q": "咖啡"}).status_code == 200
