"""The demo company: a Colombian pharmaceutical field force as an ``sfa-import/1`` document.

Everything is generated from one seed with ``random.Random``, so a seed always gives the same
document. The result holds only str/int/bool/None/list/dict values; money is whole COP.
"""

from __future__ import annotations

import random
import unicodedata

FORMAT = "sfa-import/1"
DEMO_PASSWORD = "demo-password-2026"
DEMO_DOMAIN = "demo.sfa.example"
ACCOUNTS_PER_REP = 100
PRODUCTS_PER_LINE = 100
QUOTA_PERIODS = tuple(f"2026-{m:02d}" for m in range(1, 13)) + ("2027-01", "2027-02", "2027-03")

REGIONS = (("CO-AND", "Andina", "andina"), ("CO-CAR", "Caribe", "caribe"),
           ("CO-PAC", "Pacífico", "pacifico"))
# code, name, region, reps, cities with their landline area code (the first city is the largest)
SALES_TERRITORIES = (
    ("CO-ANT-01", "Medellín Centro", "CO-AND", 3, (("Medellín", 604), ("Bello", 604))),
    ("CO-ANT-02", "Aburrá Sur y Oriente", "CO-AND", 3,
     (("Medellín", 604), ("Envigado", 604), ("Itagüí", 604), ("Rionegro", 604))),
    ("CO-BOG-01", "Bogotá Norte", "CO-AND", 3, (("Bogotá", 601), ("Chía", 601))),
    ("CO-BOG-02", "Bogotá Sur", "CO-AND", 3, (("Bogotá", 601), ("Soacha", 601))),
    ("CO-SAN-01", "Santanderes", "CO-AND", 2,
     (("Bucaramanga", 607), ("Cúcuta", 607), ("Floridablanca", 607))),
    ("CO-EJE-01", "Eje Cafetero", "CO-AND", 2,
     (("Pereira", 606), ("Manizales", 606), ("Armenia", 606))),
    ("CO-TOL-01", "Tolima, Huila y Meta", "CO-AND", 2,
     (("Ibagué", 608), ("Villavicencio", 608), ("Neiva", 608))),
    ("CO-ATL-01", "Atlántico", "CO-CAR", 3, (("Barranquilla", 605), ("Soledad", 605))),
    ("CO-BOL-01", "Bolívar y Sabanas", "CO-CAR", 2,
     (("Cartagena", 605), ("Sincelejo", 605), ("Montería", 604))),
    ("CO-MAG-01", "Magdalena y Cesar", "CO-CAR", 2, (("Santa Marta", 605), ("Valledupar", 605))),
    ("CO-VAL-01", "Valle del Cauca", "CO-PAC", 3,
     (("Cali", 602), ("Palmira", 602), ("Tuluá", 602))),
    ("CO-NAR-01", "Cauca y Nariño", "CO-PAC", 2, (("Pasto", 602), ("Popayán", 602))),
)

FEMALE_NAMES = ("María Fernanda", "Ana María", "Luisa", "Carolina", "Daniela", "Valentina",
                "Paola", "Natalia", "Juliana", "Diana", "Catalina", "Laura", "Sandra", "Claudia",
                "Marcela", "Ángela", "Liliana", "Lorena", "Sofía", "Adriana")
MALE_NAMES = ("Juan Carlos", "Andrés", "Carlos", "Jorge", "Luis Fernando", "Santiago", "Felipe",
              "Julián", "Camilo", "Sebastián", "Alejandro", "Mauricio", "Óscar", "Diego", "Jaime",
              "Ricardo", "Hernán", "Juan David", "Gustavo", "Sergio")
SURNAMES = ("Gómez", "Rodríguez", "Martínez", "López", "González", "García", "Pérez", "Restrepo",
            "Ramírez", "Hernández", "Jaramillo", "Vargas", "Castro", "Ospina", "Muñoz", "Rojas",
            "Zapata", "Cardona", "Mejía", "Gutiérrez", "Torres", "Salazar", "Quintero", "Arango",
            "Valencia", "Londoño", "Moreno", "Díaz", "Sánchez", "Escobar")
PHARMACY_NAMES = ("La Economía", "San Jorge", "Pasteur", "Santa Fe", "El Descuento", "Mi Salud",
                  "La Esperanza", "San Rafael", "Central", "Santa María", "La Rebaja Popular",
                  "El Ahorro", "Los Andes", "Vida Sana", "Farmasalud", "La Sexta", "El Prado")
HOSPITAL_NAMES = ("San Rafael", "Santa Sofía", "La Misericordia", "del Norte", "Los Andes",
                  "San José", "Nuestra Señora del Rosario", "Santa Ana", "del Country", "La Paz")
DISTRIBUTOR_PATTERNS = ("Distribuidora Farmacéutica {city} S.A.S.", "Drogas {surname} y Cía.",
                        "Dromayor {surname} S.A.S.", "Depósito de Drogas {city}",
                        "Comercializadora {surname} Farma S.A.S.")
DOCTOR_SPECIALTIES = ("general medicine", "family medicine", "pediatrics", "internal medicine",
                      "cardiology", "gynecology", "dermatology", "endocrinology", "pulmonology",
                      "gastroenterology")
CONTACT_SPECIALTIES = {
    "pharmacy": ("pharmacist", "pharmacist", "pharmacy owner", "pharmacy assistant"),
    "distributor": ("purchasing", "category manager", "pharmacist"),
    "hospital": DOCTOR_SPECIALTIES + ("hospital pharmacist", "purchasing"),
    "practice": DOCTOR_SPECIALTIES,
}
# kind: share of accounts, channel, price list, credit limit range in millions of COP
ACCOUNT_KINDS = {
    "pharmacy": (72, "retail", "RETAIL", (2, 15)),
    "practice": (16, "medical", "INSTITUTIONAL", (1, 5)),
    "hospital": (7, "institutional", "INSTITUTIONAL", (20, 200)),
    "distributor": (5, "wholesale", "WHOLESALE", (50, 500)),
}
MOBILE_PREFIXES = (300, 301, 304, 310, 311, 312, 313, 314, 315, 316, 317, 318, 320, 321, 350)
STREET_TYPES = ("Cl", "Cl", "Cra", "Cra", "Av", "Tv", "Dg", "Ak")

# form: unit, how the pack reads after the strength, pack sizes
DOSAGE_FORMS = {
    "tab": ("box", "x {n} tabletas", (10, 20, 30, 50, 60, 100)),
    "cap": ("box", "x {n} cápsulas", (10, 14, 20, 28, 30)),
    "syr": ("bottle", "jarabe x {n} ml", (60, 120, 240)),
    "susp": ("bottle", "suspensión x {n} ml", (60, 100, 120)),
    "cream": ("tube", "crema x {n} g", (15, 30, 60)),
    "gel": ("tube", "gel x {n} g", (30, 60, 100)),
    "amp": ("vial", "x {n} ampollas", (1, 5, 10)),
    "vial": ("vial", "vial x {n} ml", (3, 10)),
    "pen": ("box", "x {n} plumas prellenadas", (1, 3, 5)),
    "inh": ("box", "inhalador x {n} dosis", (60, 120, 200)),
    "sach": ("box", "x {n} sobres", (10, 30)),
}
# product line: retail price of the smallest pack in COP, molecules as (name, form, strengths)
PRODUCT_LINES = {
    "ANALGESICS": (6_000, (
        ("Acetaminofén", "tab", ("500 mg", "325 mg")), ("Acetaminofén", "syr", ("150 mg/5 ml",)),
        ("Ibuprofeno", "tab", ("400 mg", "800 mg")), ("Ibuprofeno", "susp", ("100 mg/5 ml",)),
        ("Naproxeno", "tab", ("250 mg", "500 mg")), ("Diclofenaco", "tab", ("50 mg",)),
        ("Diclofenaco", "amp", ("75 mg/3 ml",)), ("Diclofenaco", "gel", ("1%",)),
        ("Metamizol", "tab", ("500 mg",)), ("Metamizol", "amp", ("1 g/2 ml",)),
        ("Tramadol", "cap", ("50 mg",)), ("Meloxicam", "tab", ("7,5 mg", "15 mg")),
        ("Ketorolaco", "tab", ("10 mg",)), ("Ketorolaco", "amp", ("30 mg/ml",)),
        ("Celecoxib", "cap", ("100 mg", "200 mg")),
        ("Ácido acetilsalicílico", "tab", ("100 mg",)))),
    "ANTIBIOTICS": (15_000, (
        ("Amoxicilina", "cap", ("250 mg", "500 mg")),
        ("Amoxicilina", "susp", ("250 mg/5 ml", "500 mg/5 ml")),
        ("Amoxicilina + ácido clavulánico", "tab", ("875/125 mg", "500/125 mg")),
        ("Azitromicina", "tab", ("500 mg",)), ("Azitromicina", "susp", ("200 mg/5 ml",)),
        ("Cefalexina", "cap", ("500 mg",)), ("Cefalexina", "susp", ("250 mg/5 ml",)),
        ("Ciprofloxacino", "tab", ("500 mg",)), ("Claritromicina", "tab", ("500 mg",)),
        ("Ceftriaxona", "amp", ("1 g", "500 mg")), ("Doxiciclina", "cap", ("100 mg",)),
        ("Nitrofurantoína", "cap", ("100 mg",)), ("Clindamicina", "cap", ("300 mg",)),
        ("Trimetoprim + sulfametoxazol", "tab", ("160/800 mg",)),
        ("Metronidazol", "tab", ("500 mg",)), ("Levofloxacino", "tab", ("500 mg", "750 mg")))),
    "CARDIOVASCULAR": (18_000, (
        ("Losartán", "tab", ("50 mg", "100 mg")), ("Enalapril", "tab", ("5 mg", "10 mg", "20 mg")),
        ("Amlodipino", "tab", ("5 mg", "10 mg")), ("Metoprolol", "tab", ("50 mg", "100 mg")),
        ("Atorvastatina", "tab", ("20 mg", "40 mg", "80 mg")),
        ("Rosuvastatina", "tab", ("10 mg", "20 mg")), ("Hidroclorotiazida", "tab", ("25 mg",)),
        ("Clopidogrel", "tab", ("75 mg",)),
        ("Carvedilol", "tab", ("6,25 mg", "12,5 mg", "25 mg")))),
    "RESPIRATORY": (14_000, (
        ("Salbutamol", "inh", ("100 mcg",)), ("Salbutamol", "syr", ("2 mg/5 ml",)),
        ("Beclometasona", "inh", ("50 mcg", "250 mcg")), ("Budesonida", "inh", ("200 mcg",)),
        ("Fluticasona", "inh", ("125 mcg", "250 mcg")), ("Ipratropio", "inh", ("20 mcg",)),
        ("Loratadina", "tab", ("10 mg",)), ("Loratadina", "syr", ("5 mg/5 ml",)),
        ("Cetirizina", "tab", ("10 mg",)), ("Cetirizina", "syr", ("5 mg/5 ml",)),
        ("Desloratadina", "tab", ("5 mg",)), ("Levocetirizina", "tab", ("5 mg",)),
        ("Bilastina", "tab", ("20 mg",)), ("Fexofenadina", "tab", ("120 mg", "180 mg")),
        ("Montelukast", "tab", ("5 mg", "10 mg")),
        ("Ambroxol", "syr", ("15 mg/5 ml", "30 mg/5 ml")),
        ("Acetilcisteína", "sach", ("200 mg", "600 mg")), ("Bromhexina", "syr", ("4 mg/5 ml",)),
        ("Dextrometorfano", "syr", ("15 mg/5 ml",)), ("Guaifenesina", "syr", ("100 mg/5 ml",)))),
    "DERMATOLOGY": (16_000, (
        ("Clotrimazol", "cream", ("1%",)), ("Ketoconazol", "cream", ("2%",)),
        ("Betametasona", "cream", ("0,05%", "0,1%")), ("Hidrocortisona", "cream", ("1%",)),
        ("Mupirocina", "cream", ("2%",)), ("Ácido fusídico", "cream", ("2%",)),
        ("Adapaleno", "gel", ("0,1%",)), ("Peróxido de benzoilo", "gel", ("2,5%", "5%")),
        ("Terbinafina", "cream", ("1%",)), ("Terbinafina", "tab", ("250 mg",)),
        ("Isotretinoína", "cap", ("10 mg", "20 mg")), ("Fluconazol", "cap", ("150 mg",)),
        ("Permetrina", "cream", ("5%",)), ("Miconazol", "cream", ("2%",)),
        ("Clobetasol", "cream", ("0,05%",)), ("Aciclovir", "cream", ("5%",)),
        ("Aciclovir", "tab", ("400 mg", "800 mg")), ("Tretinoína", "cream", ("0,025%", "0,05%")),
        ("Metronidazol", "gel", ("0,75%",)), ("Desonida", "cream", ("0,05%",)),
        ("Mometasona", "cream", ("0,1%",)), ("Ivermectina", "tab", ("6 mg",)),
        ("Clindamicina", "gel", ("1%",)))),
    "GASTRO": (12_000, (
        ("Omeprazol", "cap", ("20 mg", "40 mg")), ("Esomeprazol", "tab", ("20 mg", "40 mg")),
        ("Pantoprazol", "tab", ("20 mg", "40 mg")), ("Loperamida", "tab", ("2 mg",)),
        ("Metoclopramida", "tab", ("10 mg",)), ("Metoclopramida", "amp", ("10 mg/2 ml",)),
        ("Hioscina", "tab", ("10 mg",)), ("Hioscina", "amp", ("20 mg/ml",)),
        ("Sucralfato", "susp", ("1 g/5 ml",)), ("Hidróxido de aluminio y magnesio", "susp", ("",)),
        ("Bisacodilo", "tab", ("5 mg",)), ("Lactulosa", "syr", ("65%",)),
        ("Simeticona", "tab", ("80 mg",)), ("Domperidona", "tab", ("10 mg",)),
        ("Ondansetrón", "tab", ("4 mg", "8 mg")), ("Trimebutina", "tab", ("200 mg",)))),
    "VITAMINS": (10_000, (
        ("Vitamina C", "tab", ("500 mg", "1 g")), ("Vitamina D3", "cap", ("1000 UI", "2000 UI")),
        ("Ácido fólico", "tab", ("1 mg", "5 mg")), ("Sulfato ferroso", "tab", ("300 mg",)),
        ("Calcio + vitamina D", "tab", ("600 mg/400 UI",)), ("Vitamina E", "cap", ("400 UI",)),
        ("Omega 3", "cap", ("1000 mg",)), ("Complejo B", "tab", ("",)),
        ("Complejo B", "amp", ("",)),
        ("Multivitamínico", "syr", ("",)), ("Zinc", "tab", ("50 mg",)),
        ("Magnesio", "tab", ("300 mg",)), ("Biotina", "cap", ("5 mg",)),
        ("Vitamina B12", "amp", ("1 mg/ml",)), ("Hierro polimaltosado", "syr", ("50 mg/5 ml",)),
        ("Vitamina A", "cap", ("50.000 UI",)), ("Coenzima Q10", "cap", ("100 mg",)))),
    "DIABETES": (30_000, (
        ("Metformina", "tab", ("500 mg", "850 mg", "1000 mg")), ("Glibenclamida", "tab", ("5 mg",)),
        ("Glimepirida", "tab", ("2 mg", "4 mg")), ("Sitagliptina", "tab", ("50 mg", "100 mg")),
        ("Sitagliptina + metformina", "tab", ("50/850 mg", "50/1000 mg")),
        ("Empagliflozina", "tab", ("10 mg", "25 mg")), ("Dapagliflozina", "tab", ("10 mg",)),
        ("Vildagliptina", "tab", ("50 mg",)), ("Linagliptina", "tab", ("5 mg",)),
        ("Pioglitazona", "tab", ("15 mg", "30 mg")), ("Insulina glargina", "pen", ("100 UI/ml",)),
        ("Insulina NPH", "vial", ("100 UI/ml",)), ("Insulina cristalina", "vial", ("100 UI/ml",)))),
}
# share of a territory's monthly quota by product line
LINE_SHARES = {"ANALGESICS": 16, "ANTIBIOTICS": 15, "CARDIOVASCULAR": 17, "RESPIRATORY": 11,
               "DERMATOLOGY": 8, "GASTRO": 11, "VITAMINS": 8, "DIABETES": 14}
MONTHLY_SALES_PER_ACCOUNT = 500_000  # COP, an average account's monthly purchases
MONTH_FACTORS = (0.85, 0.92, 1.0, 1.04, 1.06, 0.96, 0.94, 1.0, 1.02, 1.06, 1.08, 0.9)
RAINY_MONTHS = (4, 5, 10, 11)
YEARLY_GROWTH = 1.08


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
    regions = [{"code": code, "name": name, "parent": "CO", "type": "region"}
               for code, name, _ in REGIONS]
    leaves = [{"code": code, "name": name, "parent": region, "type": "territory"}
              for code, name, region, _, _ in SALES_TERRITORIES]
    return country + regions + leaves


def _users(rng: random.Random) -> list[dict]:
    def user(email: str, name: str, role: str, territories: list[str]) -> dict:
        return {"email": f"{email}@{DEMO_DOMAIN}", "name": name, "role": role,
                "password": DEMO_PASSWORD, "territories": territories}

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


def _account(rng: random.Random, code: str, kind: str, territory: str, city: str,
             area_code: int, doctor: tuple[str, str] | None, tax_ids: set[str]) -> dict:
    _, channel, price_list, (low, high) = ACCOUNT_KINDS[kind]
    return {
        "code": code, "name": _account_name(rng, kind, city, doctor), "kind": kind,
        "tax_id": None if rng.random() < 0.01 else _new_tax_id(rng, tax_ids),
        "address": None if rng.random() < 0.01 else _street_address(rng),
        "city": city,
        "phone": None if rng.random() < 0.02 else _landline(rng, area_code),
        "email": None if rng.random() < 0.3 else f"contacto.{code.lower()}@clientes.{DEMO_DOMAIN}",
        "channel": channel, "territory": territory, "price_list": price_list,
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


def _contact(rng: random.Random, code: str, account: str, kind: str,
             doctor: tuple[str, str] | None) -> dict:
    name = doctor[0] if doctor else _person_name(rng)[0]
    specialty = rng.choice(CONTACT_SPECIALTIES[kind])
    email = f"{_ascii_slug(name)}.{code[2:]}@contactos.{DEMO_DOMAIN}"
    return {"code": code, "account": account, "name": name, "specialty": specialty,
            "phone": None if rng.random() < 0.03 else _mobile(rng),
            "email": None if rng.random() < 0.2 else email}


def _products(rng: random.Random) -> tuple[list[dict], dict[str, int]]:
    """The catalogue, and each product's retail price by sku."""
    products, retail_prices = [], {}
    for line, (base_price, molecules) in PRODUCT_LINES.items():
        presentations = [(_product_name(molecule, strength, form, n), form, n)
                         for molecule, form, strengths in molecules for strength in strengths
                         for n in DOSAGE_FORMS[form][2]]
        for name, form, pack_size in sorted(rng.sample(presentations, PRODUCTS_PER_LINE)):
            unit, _, pack_sizes = DOSAGE_FORMS[form]
            sku = f"P-{len(products) + 1:04d}"
            products.append({"sku": sku, "name": name, "product_line": line, "unit": unit,
                             "active": rng.random() >= 0.03})
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
        items = [{"sku": sku, "price": _round_to(price * (1 - discount), 100)}
                 for sku, price in retail_prices.items()]
        return {"code": code, "name": name, "currency": "COP", "items": items}

    return [price_list("RETAIL", "Retail", 0.0), price_list("WHOLESALE", "Wholesale", 0.15),
            price_list("INSTITUTIONAL", "Institutional", 0.08)]


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
                quotas.append({"territory": territory, "period": period, "product_line": line,
                               "amount": _round_to(amount, 100_000)})
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
