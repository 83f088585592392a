"""Reading what a hook call did not prefetch from the EHR's FHIR server (CDS Hooks `fhirServer` with
`fhirAuthorization`): the Patient, the active Coverage, the active Conditions and referenced Medications.

Each read has a short timeout and a size limit; a read that fails leaves the item missing (the hook
then says what it could not get). Nothing read is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import orjson

TIMEOUT_SECONDS = 3.0
MAX_BYTES = 5_000_000

Reader = Callable[[str], Any]


def reader(server: str, authorization: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> Reader | None:
    """A function reading `path` (relative to `server`) as FHIR JSON, None when it cannot be read;
    None itself when the hook's server or authorization is unusable."""
    token = authorization.get("access_token") if isinstance(authorization, dict) else None
    kind = str(authorization.get("token_type") or "Bearer") if isinstance(authorization, dict) else ""
    if not isinstance(server, str) or not server.startswith(("http://", "https://")) or not isinstance(token, str):
        return None
    base = server.rstrip("/")
    headers = {"Authorization": f"{kind} {token}", "Accept": "application/fhir+json"}

    def read(path: str) -> Any:
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                response = client.get(f"{base}/{path}", headers=headers)
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or len(response.content) > MAX_BYTES:
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return None

    return read


def patient(read: Reader, patient_id: str) -> Any:
    return read(f"Patient/{quote(patient_id, safe='')}")


def coverage(read: Reader, patient_id: str) -> Any:
    return read(f"Coverage?patient={quote(patient_id, safe='')}&status=active")


def conditions(read: Reader, patient_id: str) -> Any:
    return read(f"Condition?patient={quote(patient_id, safe='')}&clinical-status=active")


def resource(read: Reader, reference: str) -> Any:
    """A relative reference `Type/id` read from the server."""
    kind, _, ident = reference.partition("/")
    if not kind.isalpha() or not ident or "/" in ident:
        return None
    return read(f"{kind}/{quote(ident, safe='')}")
