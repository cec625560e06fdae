"""The mixture family: Gaussian log densities with a precision factor per component.

GaussianMixture, BayesianGaussianMixture (full, tied, diag, spherical),
QuadraticDiscriminantAnalysis and EllipticEnvelope; runtime ``ml_mixture.h``.
"""

from __future__ import annotations

from ...family import Family
from .c import c_code
from .convert import convert
from .cost import data_bytes, describe, estimate, synthetic_rows
from .ir import signature
from .section import section

FAMILY = Family(
    name="mixture",
    section_id=5,
    estimators=(
        "sklearn.GaussianMixture",
        "sklearn.BayesianGaussianMixture",
        "sklearn.QuadraticDiscriminantAnalysis",
        "sklearn.EllipticEnvelope",
    ),
    options={"exact": True},
    convert=convert,
    signature=signature,
    c_code=c_code,
    section=section,
    estimate=estimate,
    describe=describe,
    data_bytes=data_bytes,
    synthetic_rows=synthetic_rows,
)
