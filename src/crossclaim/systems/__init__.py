"""Systems: documents in, predictions out. Baselines and plug-ins share one small interface.

``base`` holds the interface (``System``, ``TrainingSet``, ``PairQuery``), ``registry`` finds
systems by name (built-in baselines and the ``crossclaim.systems`` entry points). A plug-in
only needs ``from crossclaim.systems import System``.
"""

from crossclaim.systems.base import ClaimRef, PairQuery, System, TrainingSet, pair_queries, training_set
from crossclaim.systems.registry import BUILTIN, ENTRY_POINT_GROUP, make_system, system_names

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "ClaimRef",
    "PairQuery",
    "System",
    "TrainingSet",
    "make_system",
    "pair_queries",
    "system_names",
    "training_set",
]
