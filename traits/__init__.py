"""Root trait measurement and comparison (imported as ``rootrepair.traits``).

Needs no torch: ``rootrepair traits`` starts fast.
"""
from rootrepair.traits.measure import (
    EmptyMaskWarning,
    SkeletonAnalysis,
    TraitSettings,
    analyse_skeleton,
    dpi_to_mm,
    measure_traits,
    trait_names,
)

__all__ = [
    "EmptyMaskWarning",
    "SkeletonAnalysis",
    "TraitSettings",
    "analyse_skeleton",
    "dpi_to_mm",
    "measure_traits",
    "trait_names",
]
