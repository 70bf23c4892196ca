"""Memory rules (MEM): leaks, unbounded caches, needless materialization."""

from __future__ import annotations

from perfsquad.analyzers.base import Rule
from perfsquad.analyzers.memory.cache_on_method import CacheOnMethod
from perfsquad.analyzers.memory.growing_string_kept import GrowingStringKept
from perfsquad.analyzers.memory.materialized_once import MaterializedOnce
from perfsquad.analyzers.memory.module_container_grows import ModuleContainerGrows
from perfsquad.analyzers.memory.read_whole_file_to_iterate import ReadWholeFileToIterate
from perfsquad.analyzers.memory.small_class_without_slots import SmallClassWithoutSlots
from perfsquad.analyzers.memory.unbounded_cache import UnboundedCache

RULES: tuple[type[Rule], ...] = (
    CacheOnMethod,
    UnboundedCache,
    ModuleContainerGrows,
    ReadWholeFileToIterate,
    MaterializedOnce,
    SmallClassWithoutSlots,
    GrowingStringKept,
)
