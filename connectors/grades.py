"""Risk grades as partners write them, mapped to the hub's canonical level and RAG."""

from __future__ import annotations

from schemas.common import Rag, RiskLevel

_GRADES: dict[str, tuple[RiskLevel, Rag]] = {
    "high": (RiskLevel.HIGH, Rag.RED),
    "red": (RiskLevel.HIGH, Rag.RED),
    "l4": (RiskLevel.HIGH, Rag.RED),
    "medium": (RiskLevel.MEDIUM, Rag.AMBER),
    "amber": (RiskLevel.MEDIUM, Rag.AMBER),
    "l3": (RiskLevel.MEDIUM, Rag.AMBER),
    "standard": (RiskLevel.STANDARD, Rag.GREEN),
    "low": (RiskLevel.STANDARD, Rag.GREEN),
    "green": (RiskLevel.STANDARD, Rag.GREEN),
    "l2": (RiskLevel.STANDARD, Rag.GREEN),
    "blue": (RiskLevel.STANDARD, Rag.BLUE),
    "l1": (RiskLevel.STANDARD, Rag.BLUE),
}
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
