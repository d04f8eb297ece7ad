"""The booking clerk's worklist and the reads behind the clerk's pages.

Plain functions over querysets scoped by `visible_to(user)` (the clerk's own trust's patients,
the network's pool slots); views call these and never touch `Model.objects`.
"""

from .build import build_worklist, count_by_kind, with_candidates
from .items import ItemKind, WorkItem

__all__ = ["ItemKind", "WorkItem", "build_worklist", "count_by_kind", "with_candidates"]
