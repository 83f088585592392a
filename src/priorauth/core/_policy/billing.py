"""Section VI: HCPCS code and unit, NDC products and vials, waste modifiers, RxNorm concepts."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from priorauth.core._policy.base import Strict


class Hcpcs(Strict):
    code: str
    description: str
    mg_per_unit: float


class NdcProduct(Strict):
    pattern: str
    labeler: str
    product: str
    description: str
    vial_mg: float
    single_dose: bool


class WasteModifiers(Strict):
    """HCPCS modifiers for discarded drug from a single-dose vial."""

    reading: str
    discarded: str
    none_discarded: str


class RxNormCode(Strict):
    """An RxNorm concept that identifies the drug on an order (CRD)."""

    code: str
    tty: str
    display: str
    reading: str | None = None


class Billing(Strict):
    section: str
    hcpcs: Hcpcs
    ndc: list[NdcProduct]
    rxnorm: list[RxNormCode] = Field(default_factory=list)
    modifiers: WasteModifiers

    @model_validator(mode="after")
    def _whole_units_per_vial(self) -> Billing:
        unit = Decimal(str(self.hcpcs.mg_per_unit))
        for i, product in enumerate(self.ndc):
            if unit <= 0 or Decimal(str(product.vial_mg)) % unit != 0:
                raise ValueError(f"ndc[{i}].vial_mg: not a whole number of {self.hcpcs.code} units")
        return self
