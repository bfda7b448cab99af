"""Risk grades as partners write them, mapped to the hub's canonical level and RAG."""

from __future__ import annotations

from schemas.common import Rag, RiskLevel

_SPELLINGS: dict[tuple[RiskLevel, Rag], tuple[str, ...]] = {
    (RiskLevel.HIGH, Rag.RED): ("high", "red", "l4"),
    (RiskLevel.MEDIUM, Rag.AMBER): ("medium", "amber", "l3"),
    (RiskLevel.STANDARD, Rag.GREEN): ("standard", "low", "green", "l2"),
    (RiskLevel.STANDARD, Rag.BLUE): ("blue", "l1"),
}
"""Every way partners write each level and RAG, in lower case."""
_GRADES = {grade: graded for graded, grades in _SPELLINGS.items() for grade in grades}
KNOWN_GRADES = ("High", "Medium", "Low", "Standard", "Red", "Amber", "Green", "Blue")


def map_grade(grade: str) -> tuple[RiskLevel, Rag] | None:
    """Map a partner's verbatim grade to the canonical level and RAG, or None."""
    return _GRADES.get(grade.strip().lower())


LEVEL_RAG: dict[RiskLevel, Rag] = {
    RiskLevel.HIGH: Rag.RED,
    RiskLevel.MEDIUM: Rag.AMBER,
    RiskLevel.STANDARD: Rag.GREEN,
}
"""The RAG rating of a canonical level that was not graded in colours."""


def with_judgement(level: RiskLevel, rag: Rag, *, judged_high: bool) -> tuple[RiskLevel, Rag]:
    """Professional judgement of high risk raises the level to high; it never lowers it."""
    return (RiskLevel.HIGH, Rag.RED) if judged_high else (level, rag)
