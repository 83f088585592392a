"""Code systems, extension URLs and canonical URLs the FHIR door reads and writes.

Element names come from the HL7 Da Vinci guides in the versions the ONC Inferno kits test
(CRD 2.0.1, DTR 2.0.1, PAS 2.0.1 and 2.2.1), read from their packages' StructureDefinitions.
"""

from __future__ import annotations

# Canonical base of what this engine publishes (Questionnaires, CodeSystems). A URL
# under example.org: the resources are identified by it, never fetched from it.
CANONICAL_BASE = "http://priorauth.example.org/fhir"

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
USPS_STATE = "https://www.usps.com/"
SOURCE_OF_PAYMENT = "https://nahdo.org/sopt"
HCPCS_SYSTEMS = frozenset(
    {
        "https://bluebutton.cms.gov/resources/codesystem/hcpcs",
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",  # as the CRD guide's own examples spell it
        "urn:oid:2.16.840.1.113883.6.285",
    }
)
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"

NPI = "http://hl7.org/fhir/sid/us-npi"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"

# The guide versions this service conforms to.
CRD_VERSION = "2.0.1"
DTR_VERSION = "2.0.1"
PAS_VERSIONS = ("2.0.1", "2.2.1")
CDS_HOOKS_VERSION = "2.0"

# CRD
CRD = "http://hl7.org/fhir/us/davinci-crd"
COVERAGE_INFORMATION = f"{CRD}/StructureDefinition/ext-coverage-information"
CRD_TEMP = f"{CRD}/CodeSystem/temp"

# DTR
DTR = "http://hl7.org/fhir/us/davinci-dtr"
SDC_ENABLE_WHEN_EXPRESSION = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
QUESTIONNAIRE_UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"

# PAS
PAS = "http://hl7.org/fhir/us/davinci-pas"
REVIEW_ACTION = f"{PAS}/StructureDefinition/extension-reviewAction"
REVIEW_ACTION_CODE = f"{PAS}/StructureDefinition/extension-reviewActionCode"
ITEM_PRE_AUTH_PERIOD = f"{PAS}/StructureDefinition/extension-itemPreAuthPeriod"
ITEM_AUTHORIZED_DETAIL = f"{PAS}/StructureDefinition/extension-itemAuthorizedDetail"
PAS_TEMP = f"{PAS}/CodeSystem/PASTempCodes"
ITEM_TRACE_NUMBER = f"{PAS}/StructureDefinition/extension-itemTraceNumber"
AUTHORIZATION_NUMBER = f"{PAS}/StructureDefinition/extension-authorizationNumber"
ADMINISTRATION_REFERENCE = f"{PAS}/StructureDefinition/extension-administrationReferenceNumber"
PAS_REQUEST_BUNDLE = f"{PAS}/StructureDefinition/profile-pas-request-bundle"
PAS_RESPONSE_BUNDLE = f"{PAS}/StructureDefinition/profile-pas-response-bundle"
PAS_INQUIRY_RESPONSE_BUNDLE = f"{PAS}/StructureDefinition/profile-pas-inquiry-response-bundle"
PAS_CLAIM_RESPONSE = f"{PAS}/StructureDefinition/profile-claimresponse"
PAS_CLAIM_INQUIRY_RESPONSE = f"{PAS}/StructureDefinition/profile-claiminquiryresponse"
# Definitions PAS 2.2.1 added (not in 2.0.1): a submission using one is a 2.2.1 submission.
PAS_221_ONLY = frozenset(
    f"{PAS}/StructureDefinition/{name}"
    for name in (
        "extension-TransmissionIdentifiers",
        "extension-admissionDates",
        "extension-authorizedProviderType",
        "extension-claimResponseReviewer",
        "extension-dischargeDate",
        "extension-documentInformation",
        "extension-itemCategory",
        "extension-revenueCode",
        "profile-documentreference",
        "profile-quantity",
        "profile-subscription",
    )
)
RESPONSE_BUNDLE_ID = f"{CANONICAL_BASE}/NamingSystem/pas-response-bundle"
X12_REVIEW_ACTION = "https://codesystem.x12.org/005010/306"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
PRE_AUTH_REF = f"{CANONICAL_BASE}/NamingSystem/authorization-number"

X12_ACTIONS = {
    "A1": "Certified in total",
    "A3": "Not certified",
    "A4": "Pended",
    "A6": "Modified",
}


def questionnaire_url(policy_id: str) -> str:
    return f"{CANONICAL_BASE}/Questionnaire/{policy_id}"


def answer_system(policy_id: str, fact: str) -> str:
    """The CodeSystem of a choice question's answers: the policy's own vocabulary."""
    return f"{CANONICAL_BASE}/CodeSystem/{policy_id}-{fact.replace('_', '-')}"
