"""The RFM groups: their codes and names, and the R x FM grid that assigns them.

Kept apart from ``rfm`` (numpy) so the models, and every ``ecrm`` start-up with them, do
not import numpy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    code: str
    en: str
    zh: str


GROUPS: tuple[Group, ...] = (
    Group("champions", "Champions", "重要价值客户"),
    Group("loyal", "Loyal customers", "忠诚客户"),
    Group("potential_loyalists", "Potential loyalists", "潜在忠诚客户"),
    Group("new_customers", "New customers", "新客户"),
    Group("promising", "Promising", "有潜力客户"),
    Group("need_attention", "Need attention", "需要关注客户"),
    Group("about_to_sleep", "About to sleep", "即将沉睡客户"),
    Group("at_risk", "At risk", "流失风险客户"),
    Group("cant_lose", "Can't lose them", "重要挽留客户"),
    Group("hibernating", "Hibernating", "沉睡客户"),
    Group("lost", "Lost", "已流失客户"),
)
GROUP_BY_CODE = {g.code: g for g in GROUPS}

# Rows: R = 5 (top) down to R = 1; columns: FM = 1 .. 5.
GRID: tuple[tuple[str, ...], ...] = (
    ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    ("lost", "hibernating", "at_risk", "at_risk", "cant_lose"),
)
