"""Assignment rules: which territory an account belongs to, from its fields. Pure logic.

A **condition** is a predicate on an account's fields, or a combination of conditions::

    {"field": "city", "op": "in", "value": ["Medellin", "Envigado"]}
    {"all": [<condition>, ...]}        every one holds (AND)
    {"any": [<condition>, ...]}        at least one holds (OR)
    {"not": <condition>}

Fields: ``city``, ``postal_code``, ``kind``, ``channel``, ``tax_id``, ``code``, ``name``.
Operators (text compared case-insensitively, surrounding spaces ignored; an empty field never
matches, except under ``is_empty``):

==============  =========================================================================
``eq``, ``ne``  equal, not equal to ``value``
``in``          one of the ``value`` list; ``not_in`` none of them
``prefix``      starts with ``value`` (a text, or a list of texts: any of them)
``contains``    holds ``value``
``between``     ``value`` is ``[low, high]``, inclusive, compared as text (postal codes)
``is_empty``    the field has no value (``value`` is true) or has one (false)
==============  =========================================================================

A **rule** puts the accounts meeting its condition in its territory, with a priority. How rules
combine, down the tree:

1. A territory *matches* an account when one of its own rules holds for it, and every ancestor
   territory that has rules matches too: rules are inherited down the tree, so a region's
   rule narrows every district and territory below it.
2. Only territories without children (the leaves where reps work) receive accounts.
3. Of the matching leaves, the one whose matching rule has the highest priority wins; equal
   priorities go to the deeper territory, then the smaller territory code (so the result never
   depends on the order rules were written).
4. A manual placement beats every rule; an account excluded from realignment stays put; an
   account no rule matches stays put too, and is reported as unmatched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FIELDS = ("city", "postal_code", "kind", "channel", "tax_id", "code", "name")
OPERATORS = ("eq", "ne", "in", "not_in", "prefix", "contains", "between", "is_empty")
MAX_DEPTH = 8
MAX_NODES = 200

Account = Mapping[str, Any]
Predicate = Callable[[Account], bool]


class ConditionError(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


def _norm(value: Any) -> str:
    return str(value).strip().casefold()


def normalized(account: Account) -> dict[str, str]:
    """The account's rule fields as conditions compare them ("" for no value)."""
    return normalized_values([account.get(name) for name in FIELDS])


def normalized_values(values: Iterable[Any]) -> dict[str, str]:
    """:func:`normalized` from the fields' values in :data:`FIELDS` order (a selected row)."""
    return {
        name: "" if value is None else _norm(value)
        for name, value in zip(FIELDS, values, strict=True)
    }


def compile_condition(document: Any, path: str = "condition") -> Predicate:
    """The predicate a condition document describes, over an account's fields; raises
    :class:`ConditionError` listing every problem with its path (unknown field or operator,
    wrong value shape, too deep, too big)."""
    inner = compile_normalized(document, path)
    return lambda account: inner(normalized(account))


def compile_normalized(document: Any, path: str = "condition") -> Predicate:
    """As :func:`compile_condition`, over :func:`normalized` fields (normalise an account
    once, then test many conditions on it)."""
    errors: list[dict[str, str]] = []
    nodes = [0]
    predicate = _compile(document, path, 0, errors, nodes)
    if nodes[0] > MAX_NODES:
        errors.append({"path": path, "message": f"at most {MAX_NODES} conditions in a rule"})
    if errors:
        raise ConditionError(errors)
    return predicate


def _compile(doc: Any, path: str, depth: int, errors: list, nodes: list[int]) -> Predicate:
    nodes[0] += 1
    never: Predicate = lambda _account: False  # noqa: E731
    if depth > MAX_DEPTH:
        errors.append({"path": path, "message": f"conditions nest at most {MAX_DEPTH} deep"})
        return never
    if not isinstance(doc, dict):
        errors.append({"path": path, "message": "a condition is an object"})
        return never
    combinators = [key for key in ("all", "any", "not") if key in doc]
    if combinators:
        key = combinators[0]
        if len(doc) != 1:
            errors.append({"path": path, "message": f"'{key}' stands alone in its object"})
            return never
        if key == "not":
            inner = _compile(doc["not"], f"{path}.not", depth + 1, errors, nodes)
            return lambda account: not inner(account)
        parts = doc[key]
        if not isinstance(parts, list) or not parts:
            errors.append({"path": f"{path}.{key}", "message": "a non-empty list of conditions"})
            return never
        compiled = [
            _compile(part, f"{path}.{key}[{n}]", depth + 1, errors, nodes)
            for n, part in enumerate(parts)
        ]
        if key == "all":
            return lambda account: all(p(account) for p in compiled)
        return lambda account: any(p(account) for p in compiled)
    return _leaf(doc, path, errors) or never


def _leaf(doc: dict, path: str, errors: list) -> Predicate | None:
    unknown = set(doc) - {"field", "op", "value"}
    if unknown:
        errors.append({"path": path, "message": f"unknown keys: {', '.join(sorted(unknown))}"})
        return None
    field, op, value = doc.get("field"), doc.get("op"), doc.get("value")
    if field not in FIELDS:
        errors.append({"path": f"{path}.field", "message": f"one of {', '.join(FIELDS)}"})
        return None
    if op not in OPERATORS:
        errors.append({"path": f"{path}.op", "message": f"one of {', '.join(OPERATORS)}"})
        return None

    def bad(message: str) -> None:
        errors.append({"path": f"{path}.value", "message": message})

    def text(v: Any) -> bool:
        return isinstance(v, str) and 0 < len(v) <= 200

    if op == "is_empty":
        if not isinstance(value, bool):
            return bad("true or false")
        return lambda account: (not account[field]) == value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > 1000:
            return bad("a list of 1 to 1000 texts")
        if not all(text(v) for v in value):
            return bad("texts of 1 to 200 characters")
        wanted = frozenset(_norm(v) for v in value)
        if op == "in":
            return _on(field, lambda got: got in wanted)
        return _on(field, lambda got: got not in wanted)
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2 and all(text(v) for v in value)):
            return bad("[low, high], two texts")
        low, high = (_norm(v) for v in value)
        if low > high:
            return bad("low is above high")
        return _on(field, lambda got: low <= got <= high)
    if op == "prefix":
        options = value if isinstance(value, list) else [value]
        if not options or not all(text(v) for v in options):
            return bad("a text, or a list of texts")
        prefixes = tuple(_norm(v) for v in options)
        return _on(field, lambda got: got.startswith(prefixes))
    if not text(value):
        return bad("a text of 1 to 200 characters")
    wanted_text = _norm(value)
    if op == "eq":
        return _on(field, lambda got: got == wanted_text)
    if op == "ne":
        return _on(field, lambda got: got != wanted_text)
    return _on(field, lambda got: wanted_text in got)  # contains


def _on(field: str, test: Callable[[str], bool]) -> Predicate:
    def predicate(account: Account) -> bool:
        got = account[field]
        return bool(got) and test(got)

    return predicate


@dataclass(frozen=True)
class Rule:
    id: str
    territory_id: str
    priority: int
    condition: Any


@dataclass(frozen=True)
class Territory:
    id: str
    parent_id: str | None
    code: str


class Assigner:
    """Rules compiled once over a tree; :meth:`territory_for` places one account.

    The tree is walked top-down, entering only subtrees whose rules (if they have any) hold,
    so an account costs a few predicate calls per level, not one per territory."""

    def __init__(self, territories: Iterable[Territory], rules: Iterable[Rule]) -> None:
        self.nodes = {t.id: t for t in territories}
        self.children: dict[str | None, list[str]] = {}
        for node in sorted(self.nodes.values(), key=lambda t: t.code):
            parent = node.parent_id if node.parent_id in self.nodes else None
            self.children.setdefault(parent, []).append(node.id)
        self.rules: dict[str, list[tuple[int, Predicate]]] = {}
        for rule in rules:
            if rule.territory_id in self.nodes:
                predicate = compile_normalized(rule.condition)
                self.rules.setdefault(rule.territory_id, []).append((rule.priority, predicate))
        for held in self.rules.values():
            held.sort(key=lambda item: -item[0])  # the first that holds is the best
        # descend only into subtrees that hold rules somewhere
        self._ruled: set[str] = set()
        for territory in self.rules:
            node: str | None = territory
            while node is not None and node not in self._ruled:
                self._ruled.add(node)
                node = self.nodes[node].parent_id if node in self.nodes else None

    def territory_for(self, account: Account) -> str | None:
        return self.place(normalized(account))

    def place(self, account: dict[str, str]) -> str | None:
        """:meth:`territory_for` of an account already :func:`normalized`."""
        best: tuple[int, int, str, str] | None = None  # (priority, depth, -code, id)
        stack: list[tuple[str, int]] = [(c, 1) for c in self.children.get(None, [])]
        while stack:
            node, depth = stack.pop()
            if node not in self._ruled:
                continue
            own = self.rules.get(node)
            priority = None
            if own is not None:
                priority = next((p for p, holds in own if holds(account)), None)
                if priority is None:
                    continue  # this subtree's own rules do not hold: nothing below can match
            kids = self.children.get(node, [])
            if kids:
                stack.extend((kid, depth + 1) for kid in kids)
                continue
            if priority is None:
                continue  # a leaf without rules of its own receives nothing by rule
            code = self.nodes[node].code
            candidate = (priority, depth, code, node)
            if best is None or _beats(candidate, best):
                best = candidate
        return None if best is None else best[3]


def _beats(a: tuple[int, int, str, str], b: tuple[int, int, str, str]) -> bool:
    if a[0] != b[0]:
        return a[0] > b[0]
    if a[1] != b[1]:
        return a[1] > b[1]
    return a[2] < b[2]
