"""A policy copied under a new id, with one more question and a criterion reading it, is asked and
decided by the new-request form as if it were bundled."""

from __future__ import annotations

import pytest
from tests.policy_fixtures import policy_path_with_extra_question
from tests.web.conftest import PEOPLE_FORM, example_facts, form_values

from priorauth.core import PolicyRegistry, policy_registry, use_registry

PENDED = "pended-comorbidities-unknown"


@pytest.fixture
def with_copy(tmp_path):
    previous = policy_registry()
    use_registry(PolicyRegistry([policy_path_with_extra_question(tmp_path / "path", "besponsa_plus")]))
    yield
    use_registry(previous)


def test_the_form_asks_and_decides_a_copy_under_a_new_id(with_copy, site):
    client = site.client("submitter")
    page = client.get("/web/requests/new?policy=besponsa_plus")
    assert page.status_code == 200 and 'id="hepatic_function_checked-true"' in page.text
    values = {**form_values(example_facts(PENDED)), "substantial_comorbidities": "false", "policy": "besponsa_plus",
              "csrf": client.csrf}
    preview = client.post("/web/requests/preview", data=values)
    assert "Pended: information needed" in preview.text and "Was liver function checked within 30 days" in preview.text
    created = client.post("/web/requests", data={**values, "hepatic_function_checked": "false", "action": "submit",
                                                 **PEOPLE_FORM}, follow_redirects=False)
    assert created.status_code == 303
    location = created.headers["location"]
    case = client.get(location).text
    assert "Awaiting clinical review" in case and "Was liver function checked within 30 days" in case
    tree = site.client("reviewer", "plan").get(location).text
    assert "Liver function was checked within 30 days (a test-only criterion)." in tree
    assert client.get("/web/requests/new?policy=besponsa").text.count("hepatic_function_checked") == 0
