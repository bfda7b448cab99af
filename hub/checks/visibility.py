"""Which of a partner's organisations see a check (DESIGN.md sections 14 and 17).

A check names the organisations asked (org codes), or none: then every organisation
of the partner sees it. A partner credential bound to organisations carries their
codes; one bound to none (a credential from before organisations) sees every check
of its partner. The merger of organisation binding wires the principal's codes here.
"""

from __future__ import annotations

from collections.abc import Collection


def visible_to(asked: Collection[str], principal_orgs: Collection[str]) -> bool:
    """Whether a caller holding ``principal_orgs`` sees a check asking ``asked``."""
    if not asked or not principal_orgs:
        return True
    wanted = {code.upper() for code in asked}
    return any(code.upper() in wanted for code in principal_orgs)
