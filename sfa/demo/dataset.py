"""The demo company: a Colombian pharmaceutical field force as an ``sfa-import/1`` document.

Everything is generated from one seed with ``random.Random``, so a seed always gives the same
document. The result holds only str/int/bool/None/list/dict values; money is whole COP.
"""

from __future__ import annotations

import random
import unicodedata

from sfa.demo.vocabulary import (
    ACCOUNT_KINDS,
    CONTACT_SPECIALTIES,
    DISTRIBUTOR_PATTERNS,
    DOSAGE_FORMS,
    FEMALE_NAMES,
    HOSPITAL_NAMES,
    LINE_SHARES,
    MALE_NAMES,
    MOBILE_PREFIXES,
    MONTH_FACTORS,
    MONTHLY_SALES_PER_ACCOUNT,
    PHARMACY_NAMES,
    POSTAL_DISTRICTS,
    PRODUCT_LINES,
    RAINY_MONTHS,
    REGIONS,
    SALES_TERRITORIES,
    STREET_TYPES,
    SURNAMES,
    YEARLY_GROWTH,
)

FORMAT = "sfa-import/1"
DEMO_PASSWORD = "demo-password-2026"
DEMO_DOMAIN = "demo.sfa.example"
ACCOUNTS_PER_REP = 100
PRODUCTS_PER_LINE = 100
QUOTA_PERIODS = tuple(f"2026-{m:02d}" for m in range(1, 13)) + ("2027-01", "2027-02", "2027-03")


def build_demo_document(seed: int = 2026) -> dict:
    """The whole demo company as an ``sfa-import/1`` document; the same seed gives the same one."""
    rng = random.Random(seed)
    accounts, contacts = _accounts_and_contacts(rng)
    products, retail_prices = _products(rng)
    return {
        "format": FORMAT,
        "territories": _territories(),
        "users": _users(rng),
        "accounts": accounts,
        "contacts": contacts,
        "products": products,
        "price_lists": _price_lists(retail_prices),
        "stock": _stock(rng, products),
        "quotas": _quotas(rng),
    }


def demo_logins(document: dict) -> list[tuple[str, str, str]]:
    """``(email, role, territory codes joined by commas)`` for each user: admin, managers, reps,
    then the ERP integration user."""
    order = {"admin": 0, "manager": 1, "rep": 2, "erp": 3}
    users = sorted(document["users"], key=lambda user: order.get(user["role"], len(order)))
    return [(user["email"], user["role"], ",".join(user["territories"])) for user in users]


def _territories() -> list[dict]:
    country = [{"code": "CO", "name": "Colombia", "parent": None, "type": "country"}]
    regions = [
        {"code": code, "name": name, "parent": "CO", "type": "region"} for code, name, _ in REGIONS
    ]
    leaves = [
        {"code": code, "name": name, "parent": region, "type": "territory"}
        for code, name, region, _, _ in SALES_TERRITORIES
    ]
    return country + regions + leaves


def _users(rng: random.Random) -> list[dict]:
    def user(email: str, name: str, role: str, territories: list[str]) -> dict:
        return {
            "email": f"{email}@{DEMO_DOMAIN}",
            "name": name,
            "role": role,
            "password": DEMO_PASSWORD,
            "territories": territories,
        }

    users = [user("admin", "Administrador Demo", "admin", [])]
    for code, _, slug in REGIONS:
        users.append(user(f"manager.{slug}", _person_name(rng)[0], "manager", [code]))
    rep_territories = [code for code, _, _, reps, _ in SALES_TERRITORIES for _ in range(reps)]
    for number, territory in enumerate(rep_territories, start=1):
        users.append(user(f"rep{number:02d}", _person_name(rng)[0], "rep", [territory]))
    users.append(user("erp", "Integración ERP", "erp", []))
    return users


def _accounts_and_contacts(rng: random.Random) -> tuple[list[dict], list[dict]]:
    kinds = list(ACCOUNT_KINDS)
    shares = [ACCOUNT_KINDS[kind][0] for kind in kinds]
    accounts: list[dict] = []
    contacts: list[dict] = []
    tax_ids: set[str] = set()
    for territory, _, _, reps, cities in SALES_TERRITORIES:
        city_weights = [len(cities) + 2 if i == 0 else 1 for i in range(len(cities))]
        for _ in range(reps * ACCOUNTS_PER_REP):
            code = f"A-{len(accounts) + 1:05d}"
            kind = rng.choices(kinds, shares)[0]
            city, area_code = rng.choices(cities, city_weights)[0]
            doctor = _person_name(rng) if kind == "practice" else None
            accounts.append(_account(rng, code, kind, territory, city, area_code, doctor, tax_ids))
            for position in range(rng.choice((1, 2, 2, 3))):
                known = doctor if position == 0 else None
                contacts.append(_contact(rng, f"C-{len(contacts) + 1:05d}", code, kind, known))
    return accounts, contacts


def _account(
    rng: random.Random,
    code: str,
    kind: str,
    territory: str,
    city: str,
    area_code: int,
    doctor: tuple[str, str] | None,
    tax_ids: set[str],
) -> dict:
    _, channel, price_list, (low, high) = ACCOUNT_KINDS[kind]
    return {
        "code": code,
        "name": _account_name(rng, kind, city, doctor),
        "kind": kind,
        "tax_id": None if rng.random() < 0.01 else _new_tax_id(rng, tax_ids),
        "address": None if rng.random() < 0.01 else _street_address(rng),
        "city": city,
        # from the account's number, so adding it drew nothing from the generator
        "postal_code": f"{POSTAL_DISTRICTS[city]}{int(code[2:]) % 10}{int(code[2:]) % 7}",
        "phone": None if rng.random() < 0.02 else _landline(rng, area_code),
        "email": None if rng.random() < 0.3 else f"contacto.{code.lower()}@clientes.{DEMO_DOMAIN}",
        "channel": channel,
        "territory": territory,
        "price_list": price_list,
        "credit_limit": rng.randint(low * 10, high * 10) * 100_000,
        "active": rng.random() >= 0.02,
    }


def _account_name(rng: random.Random, kind: str, city: str, doctor: tuple[str, str] | None) -> str:
    if kind == "practice" and doctor:
        name, title = doctor
        return f"Consultorio {title} {name}"
    if kind == "hospital":
        prefix = rng.choice(("Clínica", "Clínica", "Hospital", "IPS", "Centro Médico"))
        return f"{prefix} {rng.choice(HOSPITAL_NAMES)} {city}"
    if kind == "distributor":
        return rng.choice(DISTRIBUTOR_PATTERNS).format(city=city, surname=rng.choice(SURNAMES))
    prefix = rng.choice(("Droguería", "Droguería", "Droguería", "Farmacia", "Drogas"))
    return f"{prefix} {rng.choice(PHARMACY_NAMES)} {rng.randint(1, 99)}"


def _contact(
    rng: random.Random, code: str, account: str, kind: str, doctor: tuple[str, str] | None
) -> dict:
    name = doctor[0] if doctor else _person_name(rng)[0]
    specialty = rng.choice(CONTACT_SPECIALTIES[kind])
    email = f"{_ascii_slug(name)}.{code[2:]}@contactos.{DEMO_DOMAIN}"
    return {
        "code": code,
        "account": account,
        "name": name,
        "specialty": specialty,
        "phone": None if rng.random() < 0.03 else _mobile(rng),
        "email": None if rng.random() < 0.2 else email,
    }


def _products(rng: random.Random) -> tuple[list[dict], dict[str, int]]:
    """The catalogue, and each product's retail price by sku."""
    products, retail_prices = [], {}
    for line, (base_price, molecules) in PRODUCT_LINES.items():
        presentations = [
            (_product_name(molecule, strength, form, n), form, n)
            for molecule, form, strengths in molecules
            for strength in strengths
            for n in DOSAGE_FORMS[form][2]
        ]
        for name, form, pack_size in sorted(rng.sample(presentations, PRODUCTS_PER_LINE)):
            unit, _, pack_sizes = DOSAGE_FORMS[form]
            sku = f"P-{len(products) + 1:04d}"
            products.append(
                {
                    "sku": sku,
                    "name": name,
                    "product_line": line,
                    "unit": unit,
                    "active": rng.random() >= 0.03,
                }
            )
            retail_prices[sku] = _retail_price(rng, base_price, pack_size / pack_sizes[0])
    return products, retail_prices


def _product_name(molecule: str, strength: str, form: str, pack_size: int) -> str:
    pack = DOSAGE_FORMS[form][1].format(n=pack_size)
    return " ".join(part for part in (molecule, strength, pack) if part)


def _retail_price(rng: random.Random, base_price: int, packs_of_smallest: float) -> int:
    """Bigger packs cost more, though less per unit; kept between 3,000 and 250,000 COP."""
    price = base_price * rng.uniform(0.6, 1.6) * packs_of_smallest**0.6
    return min(max(_round_to(price, 100), 3_000), 250_000)


def _price_lists(retail_prices: dict[str, int]) -> list[dict]:
    """Wholesale is 15% below retail and institutional 8% below, rounded to 100 COP."""

    def price_list(code: str, name: str, discount: float) -> dict:
        items = [
            {"sku": sku, "price": _round_to(price * (1 - discount), 100)}
            for sku, price in retail_prices.items()
        ]
        return {"code": code, "name": name, "currency": "COP", "items": items}

    return [
        price_list("RETAIL", "Retail", 0.0),
        price_list("WHOLESALE", "Wholesale", 0.15),
        price_list("INSTITUTIONAL", "Institutional", 0.08),
    ]


def _stock(rng: random.Random, products: list[dict]) -> list[dict]:
    def available(product: dict) -> int:
        if not product["active"] or rng.random() < 0.04:
            return 0
        return rng.randint(100, 8_000)

    return [{"sku": product["sku"], "available": available(product)} for product in products]


def _quotas(rng: random.Random) -> list[dict]:
    total_share = sum(LINE_SHARES.values())
    quotas = []
    for territory, _, _, reps, _ in SALES_TERRITORIES:
        monthly = reps * ACCOUNTS_PER_REP * MONTHLY_SALES_PER_ACCOUNT * rng.uniform(0.8, 1.5)
        for line, share in LINE_SHARES.items():
            for period in QUOTA_PERIODS:
                amount = monthly * share / total_share * _seasonality(period, line)
                amount *= rng.uniform(0.95, 1.05)
                quotas.append(
                    {
                        "territory": territory,
                        "period": period,
                        "product_line": line,
                        "amount": _round_to(amount, 100_000),
                    }
                )
    return quotas


def _seasonality(period: str, line: str) -> float:
    """Respiratory and analgesic sales rise in the rainy months; later years grow."""
    year, month = (int(part) for part in period.split("-"))
    factor = MONTH_FACTORS[month - 1] * YEARLY_GROWTH ** (year - 2026)
    if month in RAINY_MONTHS:
        factor *= {"RESPIRATORY": 1.35, "ANALGESICS": 1.1}.get(line, 1.0)
    return factor


def _person_name(rng: random.Random) -> tuple[str, str]:
    """A Colombian full name (given names and both surnames) and the doctor's title for it."""
    female = rng.random() < 0.55
    given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    first_surname, second_surname = rng.sample(SURNAMES, 2)
    return f"{given} {first_surname} {second_surname}", "Dra." if female else "Dr."


def _new_tax_id(rng: random.Random, taken: set[str]) -> str:
    """A NIT-like nine-digit tax id, different from those already handed out."""
    while (tax_id := str(rng.randint(800_000_000, 901_999_999))) in taken:
        pass
    taken.add(tax_id)
    return tax_id


def _street_address(rng: random.Random) -> str:
    street = f"{rng.choice(STREET_TYPES)} {rng.randint(1, 150)}{rng.choice(('', '', '', 'A', 'B'))}"
    return f"{street} #{rng.randint(1, 120)}-{rng.randint(1, 99):02d}"


def _landline(rng: random.Random, area_code: int) -> str:
    return f"+57 {area_code} {rng.randint(200, 899)} {rng.randint(0, 9999):04d}"


def _mobile(rng: random.Random) -> str:
    return f"+57 {rng.choice(MOBILE_PREFIXES)} {rng.randint(200, 999)} {rng.randint(0, 9999):04d}"


def _ascii_slug(name: str) -> str:
    """``"María Fernanda Gómez"`` -> ``"maria.fernanda.gomez"``, safe for an email address."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return ".".join(plain.lower().split())


def _round_to(amount: float, step: int) -> int:
    return round(amount / step) * step
