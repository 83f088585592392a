"""Section VI: HCPCS code and unit, NDC products and vials, waste modifiers, RxNorm concepts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from priorauth.core._policy.base import Strict, parse_iso_date

# Milligrams in one of each amount unit.
MG_PER: dict[str, Decimal] = {"mg": Decimal(1), "mcg": Decimal("0.001")}


class Hcpcs(Strict):
    """The billing code; one billable unit is `amount_per_unit` `amount_unit` of the drug."""

    code: str
    description: str
    amount_per_unit: float = Field(gt=0)
    amount_unit: Literal["mg", "mcg"]

    @cached_property
    def unit_amount(self) -> Decimal:
        """`amount_per_unit` as an exact decimal."""
        return Decimal(str(self.amount_per_unit))

    @property
    def unit_text(self) -> str:
        """What one unit is, e.g. `0.1 mg`, `1 mcg`."""
        return f"{self.unit_amount.normalize():f} {self.amount_unit}"

    @property
    def mg_per_unit(self) -> float:
        """One unit in mg, whatever the amount unit (derived)."""
        return float(self.unit_amount * MG_PER[self.amount_unit])


class NdcProduct(Strict):
    pattern: str
    labeler: str
    product: str
    description: str
    # The drug in one vial, in the HCPCS amount unit.
    vial_amount: float = Field(gt=0)
    single_dose: bool

    _unit: str = PrivateAttr(default="mg")  # the HCPCS amount unit, set by `Billing`

    @cached_property
    def vial(self) -> Decimal:
        """`vial_amount` as an exact decimal."""
        return Decimal(str(self.vial_amount))

    @property
    def vial_mg(self) -> float:
        """The vial's content in mg (derived from `vial_amount` and the HCPCS amount unit)."""
        return float(self.vial * MG_PER[self._unit])


class ModifierRequirement(Strict):
    """An administrative claim rule: a line of the drug must report JW or JZ (claims edit
    `WASTE_MODIFIER_MISSING`), on service dates from `since`; `required: false` turns it off."""

    required: bool
    since: dt.date
    source: str
    reading: str | None = None

    @field_validator("since", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> dt.date:
        return parse_iso_date(raw)


class WasteModifiers(Strict):
    """HCPCS modifiers for discarded drug from a single-dose vial."""

    reading: str
    discarded: str
    none_discarded: str
    claim_edit: ModifierRequirement | None = None


class RxNormCode(Strict):
    """An RxNorm concept that identifies the drug on an order (CRD)."""

    code: str
    tty: str
    display: str
    reading: str | None = None


class Billing(Strict):
    section: str
    hcpcs: Hcpcs
    ndc: list[NdcProduct] = Field(min_length=1)
    rxnorm: list[RxNormCode] = Field(default_factory=list)
    modifiers: WasteModifiers

    @model_validator(mode="after")
    def _whole_units_per_vial(self) -> Billing:
        unit = self.hcpcs.unit_amount
        for i, product in enumerate(self.ndc):
            product._unit = self.hcpcs.amount_unit
            if Decimal(str(product.vial_amount)) % unit != 0:
                raise ValueError(f"ndc[{i}].vial_amount: not a whole number of {self.hcpcs.code} units")
        return self
