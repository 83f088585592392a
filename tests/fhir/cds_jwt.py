"""An EHR's signing keys and the JWTs it sends to CDS services (CDS Hooks 2.0, "Trusting CDS Clients")."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://ehr.example.org"
SIGN_PATH = "/cds-services/priorauth-crd-order-sign"


@dataclass
class Ehr:
    """An EHR with one RSA and one EC P-384 key; `jwks` is its public JWK Set."""

    issuer: str = ISSUER
    rsa_key: Any = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    ec_key: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP384R1()))

    @property
    def jwks(self) -> dict[str, Any]:
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa_key.public_key()))
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec_key.public_key()))
        rsa_jwk.update(kid="rsa-1", use="sig", alg="RS384")
        ec_jwk.update(kid="ec-1", use="sig", alg="ES384")
        return {"keys": [rsa_jwk, ec_jwk]}

    def token(self, audience: str, alg: str = "RS384", **changes: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "ehr-client",
            "aud": audience,
            "iat": now,
            "exp": now + 240,
            "jti": uuid.uuid4().hex,
        }
        header = {"typ": "JWT", "kid": "ec-1" if alg.startswith("ES") else "rsa-1"}
        for key, value in changes.items():
            if key.startswith("header_"):
                header[key.removeprefix("header_")] = value
            elif value is None:
                claims.pop(key, None)
            else:
                claims[key] = value
        key = self.ec_key if alg.startswith("ES") else self.rsa_key
        return jwt.encode(claims, key, algorithm=alg, headers=header)
