"""The FHIR door: Da Vinci CRD (CDS Hooks), DTR (Questionnaire, $questionnaire-package)
and PAS (Claim/$submit, Claim/$inquire) over the same core and service layer.

Modules: `questionnaire` (Questionnaire from the fact vocabulary; answers -> facts),
`relevance` (enableWhen from the criteria tree), `prefill` (facts from Patient,
Condition, Coverage, Observation), `crd`, `dtr`, `pas`, `routes` (FastAPI router).
"""
