"""Synthetic partner traffic for the demo command and benchmarks: a realistic, seeded day.

:func:`~hub.demo.traffic.generate_day` writes the day as the partners' native request
bodies; :func:`~hub.demo.traffic.summarise` counts them. Everyone in it is made up.
"""

from hub.demo.traffic import PartnerRequest, generate_day, summarise

__all__ = ["PartnerRequest", "generate_day", "summarise"]
