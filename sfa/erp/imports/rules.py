"""Checks across the import document and what the database already holds: duplicate keys
inside the file, references to unknown records, cycles in the territory tree.

They read the raw document defensively (a row that is not an object, or a field of the wrong
type, is left to the schema's errors), so one pass reports every problem with its location.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sfa.territories.rules import find_cycle

Error = dict[str, str]


@dataclass
class KnownKeys:
    """Natural keys already in the database."""

    territory_parents: dict[str, str | None] = field(default_factory=dict)
    price_lists: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    skus: set[str] = field(default_factory=set)
    product_lines: dict[str, str] = field(default_factory=dict)  # sku -> product line


def rows(document: Mapping[str, Any], section: str) -> Iterator[tuple[int, dict]]:
    records = document.get(section)
    if isinstance(records, list):
        for index, record in enumerate(records):
            if isinstance(record, dict):
                yield index, record


def text(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    return value if isinstance(value, str) else None


_KEYS: dict[str, Callable[[dict], Any]] = {
    "territories": lambda r: text(r, "code"),
    "users": lambda r: (text(r, "email") or "").strip().lower() or None,
    "products": lambda r: text(r, "sku"),
    "price_lists": lambda r: text(r, "code"),
    "accounts": lambda r: text(r, "code"),
    "contacts": lambda r: text(r, "code"),
    "stock": lambda r: text(r, "sku"),
    "quotas": lambda r: (
        (text(r, "territory"), text(r, "period"), text(r, "product_line"))
        if all(text(r, f) for f in ("territory", "period", "product_line"))
        else None
    ),
    "pricing_rules": lambda r: text(r, "code"),
}
_KEY_NAMES = {"users": "email", "products": "sku", "stock": "sku", "quotas": "quota"}


def reference_errors(document: Mapping[str, Any], known: KnownKeys) -> list[Error]:
    errors: list[Error] = []
    for section, key_of in _KEYS.items():
        errors.extend(_duplicates(rows(document, section), key_of, section))
    parents = _merged_tree(document, known)
    errors.extend(_territory_errors(document, parents))
    price_lists = known.price_lists | _file_keys(document, "price_lists", "code")
    accounts = known.accounts | _file_keys(document, "accounts", "code")
    skus = known.skus | _file_keys(document, "products", "sku")
    lines = _product_lines(document, known)
    errors.extend(_user_errors(document, parents))
    errors.extend(_refs(document, "accounts", "territory", parents, "territory"))
    errors.extend(_refs(document, "accounts", "price_list", price_lists, "price list"))
    errors.extend(_refs(document, "contacts", "account", accounts, "account"))
    errors.extend(_refs(document, "stock", "sku", skus, "product"))
    errors.extend(_refs(document, "quotas", "territory", parents, "territory"))
    errors.extend(_refs(document, "quotas", "product_line", lines, "product line"))
    errors.extend(_refs(document, "pricing_rules", "sku", skus, "product"))
    errors.extend(_refs(document, "pricing_rules", "account", accounts, "account"))
    errors.extend(_refs(document, "pricing_rules", "price_list", price_lists, "price list"))
    errors.extend(_refs(document, "pricing_rules", "product_line", lines, "product line"))
    for index, price_list in rows(document, "price_lists"):
        prefix = f"price_lists[{index}].items"
        items = list(rows(price_list, "items"))
        errors.extend(_duplicates(iter(items), lambda r: text(r, "sku"), prefix, "sku"))
        for item_index, item in items:
            sku = text(item, "sku")
            if sku is not None and sku not in skus:
                errors.append(_error(f"{prefix}[{item_index}].sku", f'unknown product "{sku}"'))
    return errors


def _error(path: str, message: str) -> Error:
    return {"path": path, "message": message}


def _file_keys(document: Mapping[str, Any], section: str, name: str) -> set[str]:
    return {value for _, r in rows(document, section) if (value := text(r, name)) is not None}


def _duplicates(
    records: Iterator[tuple[int, dict]],
    key_of: Callable[[dict], Any],
    section: str,
    key_name: str | None = None,
) -> list[Error]:
    first_seen: dict[Any, int] = {}
    errors = []
    for index, record in records:
        key = key_of(record)
        if key is None:
            continue
        if key in first_seen:
            label = key_name or _KEY_NAMES.get(section, "code")
            shown = "/".join(key) if isinstance(key, tuple) else key
            errors.append(
                _error(
                    f"{section}[{index}]",
                    f'duplicate {label} "{shown}" (first at {section}[{first_seen[key]}])',
                )
            )
        else:
            first_seen[key] = index
    return errors


def _product_lines(document: Mapping[str, Any], known: KnownKeys) -> set[str]:
    """The product lines after the import: a product in the file takes its line from the file."""
    lines = dict(known.product_lines)
    for _, record in rows(document, "products"):
        sku, line = text(record, "sku"), text(record, "product_line")
        if sku is not None and line is not None:
            lines[sku] = line
    return set(lines.values())


def _merged_tree(document: Mapping[str, Any], known: KnownKeys) -> dict[str, str | None]:
    parents = dict(known.territory_parents)
    for _, record in rows(document, "territories"):
        code = text(record, "code")
        if code is not None:
            parents[code] = text(record, "parent")
    return parents


def _territory_errors(document: Mapping[str, Any], parents: dict[str, str | None]) -> list[Error]:
    errors = []
    for index, record in rows(document, "territories"):
        parent = text(record, "parent")
        if parent is not None and parent not in parents:
            errors.append(_error(f"territories[{index}].parent", f'unknown territory "{parent}"'))
    cycle = find_cycle({code: p if p in parents else None for code, p in parents.items()})
    if cycle:
        in_file = {text(r, "code"): i for i, r in rows(document, "territories")}
        index = next((in_file[c] for c in cycle if c in in_file), 0)
        shown = " -> ".join([*cycle, cycle[0]])
        errors.append(
            _error(f"territories[{index}].parent", f"cycle in the territory tree: {shown}")
        )
    return errors


def _user_errors(document: Mapping[str, Any], parents: dict[str, str | None]) -> list[Error]:
    errors = []
    for index, record in rows(document, "users"):
        codes = record.get("territories")
        if not isinstance(codes, list):
            continue
        if codes and text(record, "role") not in ("rep", "manager"):
            errors.append(
                _error(f"users[{index}].territories", "only reps and managers have territories")
            )
        for position, code in enumerate(codes):
            if isinstance(code, str) and code not in parents:
                errors.append(
                    _error(f"users[{index}].territories[{position}]", f'unknown territory "{code}"')
                )
    return errors


def _refs(
    document: Mapping[str, Any], section: str, name: str, valid: Any, label: str
) -> list[Error]:
    errors = []
    for index, record in rows(document, section):
        value = text(record, name)
        if value is not None and value not in valid:
            errors.append(_error(f"{section}[{index}].{name}", f'unknown {label} "{value}"'))
    return errors
