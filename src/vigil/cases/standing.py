"""Which decisions on a case still stand: not reversed on appeal, and not copied from one that was.

Intake asks it (may new notices join a decided case, and get its decision?), and so do appeals and
re-upload decisions in vigil.review. A re-upload decision copies an earlier one (`derived_from`);
reversing the earlier one reverses its copies too.
"""

from __future__ import annotations

from vigil.store.cases import Decision


def standing(case_decisions: list[Decision], reversed_ids: set[int]) -> list[Decision]:
    """The decisions of one case (in id order) that still stand."""
    by_id = {d.id: d for d in case_decisions}

    def stands(d: Decision | None) -> bool:
        while d is not None:
            if d.id in reversed_ids:
                return False
            d = by_id.get(d.derived_from) if d.derived_from is not None else None
        return True

    return [d for d in case_decisions if stands(d)]
