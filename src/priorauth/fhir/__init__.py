"""The FHIR door: Da Vinci CRD (CDS Hooks), DTR (Questionnaire, $questionnaire-package)
and PAS (Claim/$submit, Claim/$inquire) over the same core and service layer.

Modules: `questionnaire` (Questionnaire from the fact vocabulary of a policy version, with
enableWhen from the version's relevance; answers -> facts), `prefill` (facts from Patient,
Condition, Coverage, Observation), `orders` (which policy an order's drug falls under),
`crd`, `dtr`, `pas`, `routes` (FastAPI router). It imports only `priorauth.core`,
`priorauth.service` and `priorauth.http.deps`.
"""
