"""A Python client generated from the live OpenAPI document with openapi-python-client reads the
API's real answers: the document and the answers agree (a client once crashed reading community
members because two schemas shared a name).

The client's HTTP goes through an httpx mock transport into Django's test client, so nothing
leaves the process and the test database is the one the test set up.
"""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.test import Client as DjangoClient

from shoploop.accounts import services as accounts
from shoploop.api import api
from shoploop.communities import services as communities

PACKAGE = "shoploop_generated_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Generate the client from the live schema, import it, and yield its package."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(json.dumps(api.get_openapi_schema()))
    (folder / "config.yaml").write_text(
        f"post_hooks: []\nproject_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\n"
    )
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            "openapi.json",
            "--output-path",
            PACKAGE,
            "--meta",
            "none",
            "--config",
            "config.yaml",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _through_django(request: httpx.Request) -> httpx.Response:
    """Hand an httpx request to Django's test client and the answer back to httpx."""
    headers = {
        k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
    }
    answer = DjangoClient().generic(
        request.method,
        request.url.raw_path.decode(),
        data=request.content,
        content_type=request.headers.get("content-type", "application/octet-stream"),
        headers=headers,
    )
    return httpx.Response(answer.status_code, headers=dict(answer.items()), content=answer.content)


@pytest.fixture
def client_for(generated):
    package_client = importlib.import_module(f"{PACKAGE}.client")
    transport = httpx.MockTransport(_through_django)

    def make(user=None):
        options = {"base_url": "http://testserver", "httpx_args": {"transport": transport}}
        if user is None:
            return package_client.Client(**options)
        token = accounts.issue_api_token(user=user, name="generated client").raw
        return package_client.AuthenticatedClient(token=token, **options)

    return make


def _operation(group: str, name: str):
    return importlib.import_module(f"{PACKAGE}.api.{group}.{name}")


@pytest.mark.django_db
def test_the_generated_client_reads_community_members(client_for, make_user, english):
    owner, member = make_user(display_name="Owner"), make_user(display_name="Member")
    community = communities.create_community(
        actor=owner, name="Weekend hikers", description="", tags=["hiking"]
    )
    communities.join_community(actor=member, community=community)
    answer = _operation("communities", "communities_members").sync_detailed(
        community.public_id, client=client_for(member)
    )
    assert answer.status_code == 200
    names = sorted(item.user.display_name for item in answer.parsed.results)
    assert names == ["Member", "Owner"]


@pytest.mark.django_db
def test_the_generated_client_reads_me_and_issues_a_token(client_for, make_user, generated):
    user = make_user(display_name="Client user")
    caller = client_for(user)
    me = _operation("accounts", "accounts_me").sync(client=caller)
    assert me.display_name == "Client user" and me.id == user.public_id
    token_in = importlib.import_module(f"{PACKAGE}.models").TokenIn(name="tablet")
    issued = _operation("accounts", "accounts_issue_token").sync(client=caller, body=token_in)
    assert issued.name == "tablet" and issued.token and issued.expires_at


@pytest.mark.django_db
def test_the_generated_client_reads_lists_and_errors(client_for, english):
    products = _operation("catalog", "catalog_list_products").sync(client=client_for())
    assert products.results == []
    refused = _operation("accounts", "accounts_me").sync(client=client_for())
    assert refused.error.code == "not_authenticated"
