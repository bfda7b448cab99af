"""Load a routing policy file: validate every rule, naming the line of any mistake."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from hub.errors import PolicyError
from hub.policy.conditions import Condition, ConditionError, parse_condition
from schemas.common import Area

_RULE_FIELDS = {
    "id",
    "title",
    "rationale",
    "when",
    "route",
    "consent",
    "returned_reason",
    "redirect",
    "fallback",
}
_REQUIRED = ("id", "title", "rationale", "when")


@dataclass(frozen=True)
class Redirect:
    """Move destinations ``sources`` to ``target`` when the rule matches."""

    sources: frozenset[Area]
    target: Area


@dataclass(frozen=True)
class Rule:
    """One compiled rule."""

    id: str
    title: str
    rationale: str
    when: Condition
    route: tuple[Area, ...] = ()
    consent: Literal["required", "not_required"] = "not_required"
    returned_reason: str | None = None
    redirect: Redirect | None = None
    fallback: bool = False
    line: int = 0


@dataclass(frozen=True)
class Policy:
    """A loaded policy: its rules in file order, and its version (content hash)."""

    rules: tuple[Rule, ...]
    version: str
    source: str


def default_policy_path() -> Path:
    """The policy shipped with the hub."""
    return Path(str(resources.files("hub.policy").joinpath("default.yaml")))


def load_policy(path: Path | None = None) -> Policy:
    """Read and compile a policy file (the shipped default when ``path`` is None)."""
    path = path or default_policy_path()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_policy(data, source=str(path))


def parse_policy(data: bytes, source: str = "policy") -> Policy:
    """Compile policy YAML; the version is the SHA-256 of the bytes."""
    try:
        text = data.decode("utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{source}: not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
    locate = _Locator(root)
    if not isinstance(raw, Mapping) or set(raw) != {"rules"}:
        raise PolicyError(f"{source}:{locate(())}: the file must hold exactly one key, 'rules'")
    rules_raw = raw["rules"]
    if not isinstance(rules_raw, list) or not rules_raw:
        raise PolicyError(f"{source}:{locate(('rules',))}: 'rules' must be a non-empty list")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(rules_raw):
        path: tuple[str | int, ...] = ("rules", index)
        try:
            rule = _compile_rule(item, path, locate(path))
        except ConditionError as exc:
            raise PolicyError(f"{source}:{locate(exc.path)}: {exc}") from None
        if rule.id in seen:
            raise PolicyError(f"{source}:{locate((*path, 'id'))}: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        rules.append(rule)
    version = hashlib.sha256(data).hexdigest()
    return Policy(tuple(rules), version, source)


def _compile_rule(item: Any, path: tuple[str | int, ...], line: int) -> Rule:
    if not isinstance(item, Mapping):
        raise ConditionError(path, "a rule must be a mapping with id, title, rationale, when")
    unknown = sorted(set(map(str, item)) - _RULE_FIELDS)
    if unknown:
        raise ConditionError(
            (*path, unknown[0]),
            f"unknown field {unknown[0]!r}; a rule has {', '.join(sorted(_RULE_FIELDS))}",
        )
    _check_required(item, path)
    rule_id = item["id"]
    when = parse_condition(item["when"], (*path, "when"))
    route = _areas(item.get("route", []), (*path, "route"))
    redirect = _redirect(item.get("redirect"), (*path, "redirect"))
    if not route and redirect is None:
        raise ConditionError(path, "a rule needs 'route' or 'redirect'")
    consent = item.get("consent", "not_required")
    if consent not in ("required", "not_required"):
        raise ConditionError((*path, "consent"), "consent is 'required' or 'not_required'")
    reason = item.get("returned_reason")
    if consent == "required" and not (isinstance(reason, str) and reason.strip()):
        raise ConditionError(path, "a rule with consent: required needs a returned_reason")
    fallback = item.get("fallback", False)
    if not isinstance(fallback, bool):
        raise ConditionError((*path, "fallback"), "fallback is true or false")
    return Rule(
        id=rule_id,
        title=item["title"].strip(),
        rationale=" ".join(item["rationale"].split()),
        when=when,
        route=route,
        consent=consent,
        returned_reason=" ".join(reason.split()) if isinstance(reason, str) else None,
        redirect=redirect,
        fallback=fallback,
        line=line,
    )


def _check_required(item: Mapping[str, Any], path: tuple[str | int, ...]) -> None:
    for name in _REQUIRED:
        value = item.get(name)
        if name != "when" and (not isinstance(value, str) or not value.strip()):
            raise ConditionError((*path, name) if name in item else path, f"{name} is required")
    if "when" not in item:
        raise ConditionError(path, "when is required")
    rule_id = item["id"]
    if not all(ch.isalnum() or ch == "-" for ch in rule_id) or rule_id != rule_id.lower():
        raise ConditionError((*path, "id"), "a rule id is lower-case letters, digits and dashes")


def _areas(value: Any, path: tuple[str | int, ...]) -> tuple[Area, ...]:
    if not isinstance(value, list):
        raise ConditionError(path, "route is a list of areas")
    areas = []
    for i, name in enumerate(value):
        try:
            areas.append(Area(name))
        except ValueError:
            known = ", ".join(a.value for a in Area)
            raise ConditionError((*path, i), f"unknown area {name!r}; areas: {known}") from None
    return tuple(areas)


def _redirect(value: Any, path: tuple[str | int, ...]) -> Redirect | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"from", "to"}:
        raise ConditionError(path, "redirect is {from: [areas], to: area}")
    sources = _areas(value["from"], (*path, "from"))
    target = _areas([value["to"]], (*path, "to"))[0]
    return Redirect(frozenset(sources), target)


class _Locator:
    """Find the line of a path (rules.3.when.all.0) in the composed YAML tree."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def __call__(self, path: tuple[str | int, ...]) -> int:
        node = self._root
        line = node.start_mark.line + 1 if node is not None else 1
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                # Point at the key for a bad key, its value otherwise: the key's line.
                return value if isinstance(value, yaml.CollectionNode) else key
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None
