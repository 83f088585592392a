"""What keeps the CDS Hooks tail short (docs/performance.md, "The hook's tail"): the process's long-lived
heap is frozen out of the cyclic collector once FHIR models are loaded; the assertions CRD keeps for DTR
are bytes, which the collector does not track; concurrent hook calls whose cached token check expired
make one database lookup."""

from __future__ import annotations

import asyncio
import gc

import httpx

from priorauth.fhir import resources
from priorauth.fhir.crd import ASSERTIONS


def test_loading_a_fhir_model_freezes_the_long_lived_heap():
    resources.model_class.cache_clear()
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    resources.model_class("Patient")
    assert gc.get_freeze_count() > 10_000  # modules, classes, validators: never walked by a collection again


def test_the_assertions_kept_for_dtr_are_not_walked_by_the_collector(client, auth, fhir_example):
    r = client.post(
        "/cds-services/priorauth-crd-order-sign", json=fhir_example("crd-order-sign"), headers=auth("submitter")
    )
    (info,) = [e for e in r.json()["systemActions"][0]["resource"]["extension"] if "coverage-information" in e["url"]]
    assertion = next(e["valueString"] for e in info["extension"] if e["url"] == "coverage-assertion-id")
    for _ in range(3):
        gc.collect()
    kept = ASSERTIONS._items[assertion]
    assert isinstance(kept, bytes) and not gc.is_tracked(kept)
    assert ASSERTIONS.get(assertion).record.facts["icd10_codes"] == ["C91.02"]


def test_concurrent_hooks_share_one_token_lookup(app, auth, fhir_example, monkeypatch):
    from priorauth.http import deps

    headers = auth("submitter")
    lookups = []
    real = deps._authenticate

    def counted(db, token):
        lookups.append(token)
        return real(db, token)

    monkeypatch.setattr(deps, "_authenticate", counted)
    app.state.token_cache.clear()

    async def four_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            calls = [
                client.post(
                    "/cds-services/priorauth-crd-order-sign", json=fhir_example("crd-order-sign"), headers=headers
                )
                for _ in range(4)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    assert asyncio.run(four_at_once()) == [200] * 4
    assert len(lookups) == 1
