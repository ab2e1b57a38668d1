"""The OpenAPI schema, fuzzed: whatever a client sends, the API answers without a server error,
and every answer is one the document declares (status code, content type and body schema).

Schemathesis generates requests from /api/v1/openapi.json (valid and invalid) and sends them to the
WSGI app as a signed-in user.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Like Django's test client: the request signals must not close the connection that holds
    the test's transaction (PostgreSQL would then answer every request with an error)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def signed_in_headers(make_user, make_token):
    return {"Authorization": f"Bearer {make_token(make_user(display_name='fuzzer'))}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_what_it_declares_and_never_a_server_error(case, signed_in_headers):
    case.call_and_validate(
        headers=signed_in_headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
