"""Whole-policy versions: a request is decided under the version in force on its date, a policy
from any folder decides as if bundled, and the policy path is checked loudly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from tests.policy_fixtures import (
    BUNDLED,
    NEXT,
    next_version_text,
    policy_path_with_extra_question,
    policy_path_with_next_version,
)

import priorauth
from priorauth.core import PolicyRegistry, canonical_json, content_digest, evaluate_facts, parse_policy_version

APPROVABLE = {
    "request_type": "initial", "birth_date": "1970-05-14", "diagnosis": "b_cell_precursor_all",
    "icd10_codes": ["C91.02"], "cd22_positive": True, "prior_inotuzumab": False, "baseline_ecg_normal": True,
    "ecg_monitoring_planned": True, "disease_setting": "relapsed_refractory", "regimen": "single_agent",
}
# Frontline consolidation with rituximab at 67: not covered under 2025-06-24 (under 65), covered from 2026-07-01.
RITUXIMAB_AT_67 = dict(APPROVABLE, birth_date="1959-03-01", disease_setting="frontline_consolidation",
                       regimen="mini_hyper_cvd", ph_status="negative", with_rituximab=True,
                       substantial_comorbidities=False)


@pytest.fixture(scope="module")
def revised(tmp_path_factory):
    return PolicyRegistry([policy_path_with_next_version(tmp_path_factory.mktemp("path"))]).get("besponsa")


def test_each_request_is_decided_under_the_version_in_force_on_its_date(revised):
    before = evaluate_facts(revised, dict(APPROVABLE, request_date="2026-06-30"))
    after = evaluate_facts(revised, dict(APPROVABLE, request_date=NEXT))
    assert before.policy_version == "2025-06-24" and after.policy_version == NEXT
    assert (before.authorization.max_units, str(before.authorization.end)) == (63, "2026-12-29")
    assert (after.authorization.max_units, str(after.authorization.end)) == (72, "2026-10-31")
    assert before.policy_digest != after.policy_digest
    assert after.policy_digest == revised.latest.digest


def test_a_changed_criterion_applies_from_its_version_only(revised):
    old = evaluate_facts(revised, dict(RITUXIMAB_AT_67, request_date="2026-06-30"))
    new = evaluate_facts(revised, dict(RITUXIMAB_AT_67, request_date="2026-07-01"))
    assert old.decision is priorauth.Decision.DENIED
    assert [r.criterion for r in old.reasons if r.branch == "adult" and r.any_of == "fc_rituximab"] == [
        "fc_no_rituximab", "fc_under_65"]
    assert new.decision is priorauth.Decision.APPROVED


def test_the_bundled_policy_is_untouched_by_a_variant(revised):
    evaluate_facts(revised, dict(APPROVABLE, request_date="2027-03-01"))
    bundled = priorauth.evaluate({"policy": "besponsa", "facts": dict(APPROVABLE, request_date="2027-03-01")})
    assert bundled.policy_version == "2025-06-24" and bundled.authorization.max_units == 63


def test_digest_ignores_comments_and_layout_but_not_content():
    text = BUNDLED.read_text(encoding="utf-8")
    version = parse_policy_version(text, "a.yaml")
    assert version.digest == content_digest(version.canonical)
    assert canonical_json({"b": 1, "a": [2]}) == '{"a":[2],"b":1}'
    relaid = "# another comment\n" + text.replace("route: intravenous", "route:    intravenous   # spaced")
    assert parse_policy_version(relaid, "b.yaml").digest == version.digest
    changed = text.replace("    value: 63\n", "    value: 64\n")
    assert parse_policy_version(changed, "c.yaml").digest != version.digest


def test_digest_matches_an_independent_computation():
    """sha256(json.dumps(parsed YAML, sort_keys, compact)) as an outside tool would compute it."""
    import hashlib

    import yaml

    class NoDates(yaml.SafeLoader):
        pass

    NoDates.yaml_implicit_resolvers = {
        k: [(t, r) for t, r in v if t != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    raw = yaml.load(BUNDLED.read_text(encoding="utf-8"), Loader=NoDates)  # noqa: S506

    def keys_as_text(v):
        if isinstance(v, dict):
            return {str(k): keys_as_text(x) for k, x in v.items()}
        return [keys_as_text(x) for x in v] if isinstance(v, list) else v

    expected = hashlib.sha256(json.dumps(keys_as_text(raw), sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hexdigest()
    assert priorauth.load_policy("besponsa").first.digest == expected


def test_a_copy_under_a_new_id_with_an_extra_question_decides_as_if_bundled(tmp_path):
    registry = PolicyRegistry([policy_path_with_extra_question(tmp_path, "besponsa_plus")])
    policy = registry.get("besponsa_plus")
    facts = dict(APPROVABLE, request_date="2026-03-02")
    pended = evaluate_facts(policy, facts)
    assert pended.decision is priorauth.Decision.PENDED
    assert pended.missing_facts == ("hepatic_function_checked",)
    approved = evaluate_facts(policy, dict(facts, hepatic_function_checked=True))
    assert approved.decision is priorauth.Decision.APPROVED
    denied = evaluate_facts(policy, dict(facts, hepatic_function_checked=False))
    assert [r.criterion for r in denied.reasons] == ["hepatic_function_checked"]
    assert denied.policy == "besponsa_plus"
    with pytest.raises(priorauth.RequestError) as info:  # the bundled policy does not know the question
        priorauth.evaluate({"policy": "besponsa", "facts": dict(facts, hepatic_function_checked=True)})
    # Unknown to this version: named by position in `facts`, never echoed (issue 14).
    assert info.value.field == "facts" and "unknown fact" in info.value.problem


def test_a_folder_on_the_path_replaces_the_bundled_policy_of_its_id(tmp_path):
    registry = PolicyRegistry([policy_path_with_extra_question(tmp_path, "besponsa")])
    det = evaluate_facts(registry.get("besponsa"), dict(APPROVABLE, request_date="2026-03-02",
                                                        hepatic_function_checked=False))
    assert det.decision is priorauth.Decision.DENIED
    assert "besponsa" in registry.overridden


def test_two_folders_claiming_one_id_fail_loudly(tmp_path):
    first = policy_path_with_next_version(tmp_path / "a")
    second = policy_path_with_next_version(tmp_path / "b")
    with pytest.raises(priorauth.PolicyError) as info:
        PolicyRegistry([first, second])
    assert "besponsa" in str(info.value) and str(second) in str(info.value)


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("2026-07-02.yaml", None, "effective: 2026-07-01 is not the date in the file name"),
        ("next.yaml", None, "a version file is named by its effective date"),
        ("2026-07-01.yaml", ("id: besponsa\n", "id: other\n"), "is not the folder's name"),
        ("2026-07-01.yaml", ("    value: 72\n", "    value: 72\n    value: 73\n"), "duplicate key 'value'"),
    ],
)
def test_a_malformed_folder_names_the_file_and_problem(tmp_path, name, edit, message):
    folder = tmp_path / "besponsa"
    folder.mkdir()
    shutil.copy(BUNDLED, folder / BUNDLED.name)
    text = next_version_text()
    if edit:
        text = text.replace(*edit, 1)
    (folder / name).write_text(text, encoding="utf-8")
    registry = PolicyRegistry([tmp_path])  # folder names only: a policy's files are read when it is asked for
    with pytest.raises(priorauth.PolicyError) as info:
        registry.get("besponsa")
    assert str(folder / name) in str(info.value) and message in str(info.value)
    with pytest.raises(priorauth.PolicyError):
        registry.load_all()


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "priorauth.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_decides_a_new_id_copy_and_the_next_version_from_the_policy_path(tmp_path):
    path = policy_path_with_extra_question(tmp_path / "p", "besponsa_plus")
    request = tmp_path / "r.json"
    request.write_text(json.dumps({"policy": "besponsa_plus", "facts": dict(APPROVABLE, request_date="2026-03-02")}))
    run = _cli("--policy-path", str(path), "evaluate", str(request))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["missing_facts"] == ["hepatic_function_checked"]
    listed = _cli("--policy-path", str(path), "policy", "list", "--json")
    ids = {p["id"]: p for p in json.loads(listed.stdout)}
    assert {"besponsa", "besponsa_plus"} <= set(ids)
    assert ids["besponsa_plus"]["versions"][0]["digest"] == priorauth.load_policy_file(
        path / "besponsa_plus").first.digest

    nxt = policy_path_with_next_version(tmp_path / "n")
    request.write_text(json.dumps({"policy": "besponsa", "facts": dict(APPROVABLE, request_date="2026-08-03")}))
    out = json.loads(_cli("--policy-path", str(nxt), "evaluate", str(request)).stdout)
    assert (out["policy_version"], out["authorization"]["max_units"], out["authorization"]["end"]) == (
        NEXT, 72, "2026-12-02")


def test_cli_refuses_a_broken_policy_path_in_one_line(tmp_path):
    (tmp_path / "besponsa").mkdir()
    (tmp_path / "besponsa" / "2025-06-24.yaml").write_text("id: besponsa\n  bad: [\n")
    run = _cli("--policy-path", str(tmp_path), "policy", "list")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("error: ") and "2025-06-24.yaml: line " in run.stderr
