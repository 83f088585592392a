"""CDS Hooks client authentication by signed JWT: registration by issuer and JWK Set (file or URL),
RS384/ES384 signatures, aud, exp, jti replay; and the `priorauth cds-clients` command."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cds_jwt import ISSUER, SIGN_PATH, Ehr
from fhir_door_helpers import coverage_information
from typer.testing import CliRunner

from priorauth.cli import app as cli
from priorauth.fhir.cds_clients import add_client

AUDIENCE = f"http://testserver{SIGN_PATH}"
runner = CliRunner()


@pytest.fixture(scope="module")
def ehr() -> Ehr:
    return Ehr()


@pytest.fixture
def registered(db, ehr):
    with db.session() as session:
        add_client(session, ISSUER, "clinic-a", jwks=ehr.jwks, label="Example EHR")
    return ehr


def call(client, token: str, fhir_example):
    return client.post(SIGN_PATH, json=fhir_example("crd-order-sign"), headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_a_registered_ehr_calls_the_hook_with_a_signed_jwt(client, registered, fhir_example, alg):
    r = call(client, registered.token(AUDIENCE, alg), fhir_example)
    assert r.status_code == 200, r.text
    info = coverage_information(r.json()["systemActions"][0]["resource"])
    assert info["pa-needed"] == ["auth-needed"]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"aud": "http://testserver/cds-services/priorauth-crd-order-select"}, "aud"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": int(time.time()) + 3600}, "five minutes"),
        ({"jti": None}, "jti"),
        ({"iss": "https://unknown.example.org"}, "not a registered"),
        ({"header_kid": "nope"}, "kid"),
    ],
)
def test_jwts_that_do_not_meet_cds_hooks_are_refused(client, registered, fhir_example, changes, why):
    token = registered.token(AUDIENCE, **changes)
    r = call(client, token, fhir_example)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert why in r.json()["error"] and token not in r.text


def test_a_signature_by_another_key_and_other_algorithms_are_refused(client, registered, fhir_example):
    impostor = Ehr()  # same issuer and kid, another key
    assert call(client, impostor.token(AUDIENCE), fhir_example).status_code == 401
    r = call(client, registered.token(AUDIENCE, alg="RS256"), fhir_example)
    assert r.status_code == 401 and "RS384 or ES384" in r.json()["error"]


def test_a_jwt_is_accepted_once(client, registered, fhir_example):
    token = registered.token(AUDIENCE)
    assert call(client, token, fhir_example).status_code == 200
    r = call(client, token, fhir_example)
    assert r.status_code == 401 and "replay" in r.json()["error"]


def test_the_jwk_set_is_fetched_from_the_clients_url(client, db, ehr, fhir_example):
    body = json.dumps(ehr.jwks).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    try:
        with db.session() as session:
            add_client(session, "https://other-ehr.example.org", "clinic-b", jwks_url=url)
        other = Ehr(issuer="https://other-ehr.example.org", rsa_key=ehr.rsa_key, ec_key=ehr.ec_key)
        assert call(client, other.token(AUDIENCE, "ES384"), fhir_example).status_code == 200
        # jku must be the registered URL, if given at all
        r = call(client, other.token(AUDIENCE, header_jku="https://evil.example.org/jwks"), fhir_example)
        assert r.status_code == 401 and "jku" in r.json()["error"]
    finally:
        server.shutdown()


def test_the_services_own_bearer_token_still_calls_the_hook(client, auth, fhir_example):
    assert client.post(SIGN_PATH, json=fhir_example("crd-order-sign"), headers=auth("submitter")).status_code == 200


def test_cds_clients_command_adds_lists_and_removes(tmp_path, ehr, database_url):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(ehr.jwks))
    url = ["--database-url", database_url]
    r = runner.invoke(
        cli, ["cds-clients", "add", "--issuer", ISSUER, "--org", "clinic-a", "--jwks-file", str(jwks_file), *url]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["keys"] == ["rsa-1", "ec-1"]
    listed = json.loads(runner.invoke(cli, ["cds-clients", "list", *url]).stdout)
    assert [c["issuer"] for c in listed] == [ISSUER]
    again = runner.invoke(
        cli, ["cds-clients", "add", "--issuer", ISSUER, "--org", "clinic-a", "--jwks-file", str(jwks_file), *url]
    )
    assert again.exit_code == 2 and "issuer: already registered" in again.stderr
    assert runner.invoke(cli, ["cds-clients", "remove", ISSUER, *url]).exit_code == 0
    assert json.loads(runner.invoke(cli, ["cds-clients", "list", *url]).stdout) == []
    assert runner.invoke(cli, ["cds-clients", "remove", ISSUER, *url]).exit_code == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "jwks-file: not valid JSON"),
        ('{"keys": []}', "non-empty `keys`"),
        ('{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}', "kid: required"),
        ('{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "a"}]}', "kty: expected RSA or EC"),
    ],
)
def test_a_bad_jwk_set_file_exits_2_naming_the_problem(tmp_path, database_url, content, message):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(content)
    r = runner.invoke(
        cli,
        [
            "cds-clients",
            "add",
            "--issuer",
            ISSUER,
            "--org",
            "clinic-a",
            "--jwks-file",
            str(jwks_file),
            "--database-url",
            database_url,
        ],
    )
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output
