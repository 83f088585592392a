"""The Besponsa criteria written as a GoRules JDM decision graph, the peer of the benchmark.

It decides complete requests only (approved / denied): no input validation, no
missing-fact reasoning, no trace. Age uses the engine's own date functions.
"""

from __future__ import annotations

import json

APPENDIX_1 = ["C83.50", "C83.51", "C83.52", "C83.53", "C83.54", "C83.55", "C83.56", "C83.57", "C83.58",
              "C83.59", "C91.00", "C91.01", "C91.02"]

# The dot is optional in requests: the graph lists both spellings.
COVERED = APPENDIX_1 + [code.replace(".", "") for code in APPENDIX_1]

EXPRESSIONS = [
    ("age", "birth_date != null and request_date != null ? d(request_date).diff(d(birth_date), 'year') : null"),
    ("universal", "prior_inotuzumab == false and cd22_positive == true and baseline_ecg_normal == true "
                  "and ecg_monitoring_planned == true and icd10_codes != null and "
                  "some(icd10_codes, upper(#) in " + json.dumps(COVERED) + ")"),
    ("rr_regimen", "regimen == 'single_agent' or (regimen == 'mini_hyper_cvd' and ph_status == 'negative') "
                   "or (regimen == 'tki_combination' and ph_status == 'positive')"),
    ("adult_rr", "$.age != null and $.age >= 18 and disease_setting == 'relapsed_refractory' and $.rr_regimen"),
    ("adult_fc", "$.age != null and $.age >= 18 and disease_setting == 'frontline_consolidation' "
                 "and regimen == 'mini_hyper_cvd' "
                 "and ph_status == 'negative' and (with_rituximab != true or ($.age < 65 and "
                 "substantial_comorbidities == false))"),
    ("pediatric", "$.age != null and $.age >= 1 and $.age < 18 and disease_setting == 'relapsed_refractory' "
                  "and regimen == 'single_agent'"),
    ("initial", "request_type == 'initial' and $.universal and diagnosis == 'b_cell_precursor_all' "
                "and ($.adult_rr or $.adult_fc or $.pediatric)"),
    ("renewal", "request_type == 'renewal' and first_authorization_date != null and request_date != null "
                "and d(first_authorization_date) <= d(request_date) "
                "and d(request_date) < d(first_authorization_date).add(6, 'month') "
                "and cycles_received != null and cycles_received < 6"),
    ("decision", "line_of_business == 'medicare' ? 'not_applicable' : "
                 "($.initial or $.renewal ? 'approved' : 'denied')"),
]


def decision_graph() -> str:
    """The JDM document: input -> one expression node -> output."""
    node = {
        "id": "criteria",
        "type": "expressionNode",
        "name": "Besponsa criteria",
        "position": {"x": 300, "y": 100},
        "content": {
            "expressions": [{"id": key, "key": key, "value": value} for key, value in EXPRESSIONS],
            "passThrough": False,
            "inputField": None,
            "outputPath": None,
            "executionMode": "single",
        },
    }
    return json.dumps({
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "request", "position": {"x": 0, "y": 100}},
            node,
            {"id": "response", "type": "outputNode", "name": "response", "position": {"x": 600, "y": 100}},
        ],
        "edges": [
            {"id": "a", "sourceId": "request", "targetId": "criteria", "type": "edge"},
            {"id": "b", "sourceId": "criteria", "targetId": "response", "type": "edge"},
        ],
    })
