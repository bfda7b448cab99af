"""Safety properties of a routing policy: what must hold, read from ``safety.yaml``.

A property says, for the messages its ``given`` condition selects, what their
destinations must be:

- ``reaches_any: [areas]``: at least one of them;
- ``reaches_all: [areas]``: every one of them;
- ``never_reaches: [areas]``: none of them;
- ``not_only: [areas]``: never only these (``[record-only]``: never only recorded);
- ``returned_only_by: [areas]``: if returned, then only by rules that need consent for
  one of these areas (the consent-based services).

The shipped properties (``hub/policy/safety.yaml``) hold for every policy; a council
adds its own in a ``safety.yaml`` beside its policy, checked as well, never instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hub.errors import PolicyError
from hub.policy.conditions import Condition, ConditionError, parse_condition
from hub.policy.engine import Decision
from hub.policy.loader import Policy
from schemas.common import Area

EXPECTATIONS = ("reaches_any", "reaches_all", "never_reaches", "not_only", "returned_only_by")
_PROPERTY_FIELDS = {"id", "title", "rationale", "given", "expect"}
PROPERTIES_FILE = "safety.yaml"


@dataclass(frozen=True)
class Expectation:
    """What the destinations of a selected message must be."""

    kind: str
    areas: frozenset[Area]

    def broken(self, decision: Decision, policy: Policy) -> str | None:
        """Why ``decision`` breaks the expectation, or None when it holds."""
        final = set(decision.destinations)
        names = ", ".join(sorted(a.value for a in self.areas))
        if self.kind == "reaches_any" and not final & self.areas:
            return f"reaches none of {names}"
        if self.kind == "reaches_all" and not self.areas <= final:
            missing = ", ".join(sorted(a.value for a in self.areas - final))
            return f"does not reach {missing}"
        if self.kind == "never_reaches" and final & self.areas:
            return f"reaches {', '.join(sorted(a.value for a in final & self.areas))}"
        if self.kind == "not_only" and final <= self.areas:
            return f"goes only to {names}"
        if self.kind == "returned_only_by" and Area.RETURNED in final:
            rules = {r.id: r for r in policy.rules}
            for rule_id in decision.returned_by:
                rule = rules[rule_id]
                if rule.consent != "required" or not set(rule.route) <= self.areas:
                    return f"returned by {rule_id}, which is not the consent of {names}"
        return None


@dataclass(frozen=True)
class SafetyProperty:
    """One property: the messages it is about, and what must hold for them."""

    id: str
    title: str
    rationale: str
    given: Condition
    expect: tuple[Expectation, ...]
    source: str


# ------------------------------------------------------------------ properties file


def default_properties_path() -> Path:
    """The safety properties shipped with the hub."""
    return Path(str(resources.files("hub.policy").joinpath(PROPERTIES_FILE)))


def properties_for(policy_path: Path | None, extra: Sequence[Path] = ()) -> list[Path]:
    """The shipped properties, a council's beside its policy, and any named ones."""
    paths = [default_properties_path()]
    if policy_path is not None:
        beside = policy_path.parent / PROPERTIES_FILE
        if beside.is_file() and beside.resolve() != paths[0].resolve():
            paths.append(beside)
    paths += [p for p in extra if p.resolve() not in {q.resolve() for q in paths}]
    return paths


def load_properties(paths: Sequence[Path]) -> tuple[SafetyProperty, ...]:
    """Read and compile properties files; ids must be unique across them."""
    found: list[SafetyProperty] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read: {exc.strerror}") from exc
        found += parse_properties(data, str(path))
    seen: set[str] = set()
    for prop in found:
        if prop.id in seen:
            raise PolicyError(f"{prop.source}: duplicate property id {prop.id!r}")
        seen.add(prop.id)
    return tuple(found)


def parse_properties(data: bytes, source: str = "properties") -> list[SafetyProperty]:
    """Compile a properties file: ``properties`` (a list), and optional ``definitions``."""
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
    locate = _line_finder(root)
    if not isinstance(raw, Mapping) or "properties" not in raw:
        raise PolicyError(f"{source}:1: the file must hold a 'properties' list")
    unknown = sorted(set(map(str, raw)) - {"properties", "definitions"})
    if unknown:
        raise PolicyError(f"{source}:1: unknown key {unknown[0]!r}")
    items = raw["properties"]
    if not isinstance(items, list) or not items:
        raise PolicyError(f"{source}: 'properties' must be a non-empty list")
    found = []
    for index, item in enumerate(items):
        try:
            found.append(_compile(item, ("properties", index), source))
        except ConditionError as exc:
            raise PolicyError(f"{source}:{locate(exc.path)}: {exc}") from None
    return found


def _compile(item: Any, path: tuple[str | int, ...], source: str) -> SafetyProperty:
    if not isinstance(item, Mapping):
        raise ConditionError(path, "a property is a mapping with id, title, given, expect")
    unknown = sorted(set(map(str, item)) - _PROPERTY_FIELDS)
    if unknown:
        fields = ", ".join(sorted(_PROPERTY_FIELDS))
        raise ConditionError((*path, unknown[0]), f"unknown field {unknown[0]!r}; use {fields}")
    for name in ("id", "title", "rationale"):
        if not isinstance(item.get(name), str) or not item[name].strip():
            raise ConditionError((*path, name), f"{name} is required")
    if "given" not in item:
        raise ConditionError(path, "given is required")
    given = parse_condition(item["given"], (*path, "given"))
    expect = item.get("expect")
    if not isinstance(expect, Mapping) or not expect:
        raise ConditionError((*path, "expect"), f"expect is one or more of {EXPECTATIONS}")
    return SafetyProperty(
        id=item["id"],
        title=item["title"].strip(),
        rationale=" ".join(item["rationale"].split()),
        given=given,
        expect=tuple(_expectation(k, v, (*path, "expect")) for k, v in expect.items()),
        source=source,
    )


def _expectation(kind: Any, value: Any, path: tuple[str | int, ...]) -> Expectation:
    if kind not in EXPECTATIONS:
        raise ConditionError((*path, str(kind)), f"unknown expectation; use {EXPECTATIONS}")
    if not isinstance(value, list) or not value:
        raise ConditionError((*path, kind), f"{kind} needs a list of areas")
    areas = []
    for name in value:
        try:
            areas.append(Area(name))
        except ValueError:
            known = ", ".join(a.value for a in Area)
            raise ConditionError((*path, kind), f"unknown area {name!r}; areas: {known}") from None
    return Expectation(kind, frozenset(areas))


def _line_finder(root: yaml.Node | None) -> Any:
    def locate(path: tuple[str | int, ...]) -> int:
        node = root
        line = node.start_mark.line + 1 if node is not None else 1
        for part in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                child = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                child = node.value[part] if part < len(node.value) else None
            if child is None:
                break
            node, line = child, child.start_mark.line + 1
        return line

    return locate


def violations(
    properties: Sequence[SafetyProperty],
    policy: Policy,
    facts: Mapping[str, Any],
    decision: Decision,
) -> list[str]:
    """Each property that one decision breaks, with why (empty when all hold)."""
    found = []
    for prop in properties:
        if not prop.given(facts):
            continue
        for expectation in prop.expect:
            why = expectation.broken(decision, policy)
            if why is not None:
                found.append(f"{prop.id}: {why}")
    return found
