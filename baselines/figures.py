"""Figure rules: one master regular expression finds figures, small functions normalise their values.

Each kind of figure is one ``Rule`` record: its label, the forms it is written in and its value
function, declared together (``RULES``, in priority order); the master expression ``FIGURE_RE`` is
built from the records, one named group per rule, and a match finds its rule by that group's name.

Written from the train and validation documents (doc-000, doc-002, doc-004) and the annotation
spec only. Approximators ("over", "more than", "nearly") stay outside the spans because no rule
matches them; counted nouns stay outside the span and go into the QUANTITY value. Relative dates
resolve against the publication date, else keep X for what is unknown (``XXXX-H2``).
``normalise`` is shared with the learned baselines, which find spans but not values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation, getcontext

# the documents these rules (and regex.py's) were written from: no system using them is scored there
WRITTEN_FROM = frozenset({"doc-000", "doc-002", "doc-004"})

# fmt: off
MONTHS = {m: i + 1 for i, m in enumerate([
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
])}
WEEKDAYS = {d: i for i, d in enumerate(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"])}
# fmt: on
UNITS_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "a": 1,
    "an": 1,
    "a dozen": 12,
}  # fmt: skip
SCALES = {
    "thousand": 10**3, "k": 10**3, "million": 10**6, "mn": 10**6, "mln": 10**6, "m": 10**6,
    "billion": 10**9, "bn": 10**9, "b": 10**9, "trillion": 10**12, "tn": 10**12,
}  # fmt: skip
CURRENCIES = {
    "US$": "USD", "$": "USD", "HK$": "HKD", "S$": "SGD", "€": "EUR", "£": "GBP", "¥": "CNY", "RMB": "CNY",
    "CNY": "CNY", "USD": "USD", "EUR": "EUR", "HKD": "HKD", "yuan": "CNY", "renminbi": "CNY", "dollars": "USD",
    "US dollars": "USD", "euros": "EUR", "pounds": "GBP", "yen": "JPY",
}  # fmt: skip
MEASURES = {
    "horsepower": "hp", "hp": "hp", "km": "km", "kilometres": "km", "kilometers": "km", "miles": "mile",
    "mph": "mph", "km/h": "km/h", "kWh": "kwh", "kW": "kw", "GWh": "gwh", "kg": "kg", "tonnes": "tonne",
    "tons": "ton", "square metres": "m2", "square meters": "m2", "acres": "acre",
}  # fmt: skip
DURATION_UNITS = {
    "year": "Y", "month": "M", "week": "W", "day": "D", "decade": "Y", "quarter": "M",
    "hour": "H", "minute": "M", "second": "S",
}  # fmt: skip
TIME_UNITS = {"hour", "minute", "second"}
FRACTIONS = {"a third": "33.33", "one third": "33.33", "two thirds": "66.67", "a quarter": "25",
             "three quarters": "75", "half": "50", "a half": "50"}  # fmt: skip
AGE_DECADES = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70}
RANGES = {"tens of thousands": (10**4, 10**5 - 1), "hundreds of thousands": (10**5, 10**6 - 1),
          "thousands": (10**3, 10**4 - 1), "hundreds": (100, 999), "dozens": (24, 99),
          "millions": (10**6, 10**9 - 1), "tens of millions": (10**7, 10**8 - 1),
          "billions": (10**9, 10**12 - 1)}  # fmt: skip
# fmt: off
COUNT_NOUNS = frozenset([
    "car", "vehicle", "ev", "unit", "person", "people", "student", "user", "customer", "buyer", "order", "pre-order",
    "preorder", "employee", "worker", "engineer", "store", "shop", "factory", "plant", "model", "delivery", "phone",
    "smartphone", "device", "share", "job", "fan", "reservation", "subscriber", "charger", "station", "country",
    "city", "market", "dealer", "driver", "passenger", "seat", "household", "family",
])
STOP = frozenset([
    "of", "in", "and", "the", "a", "an", "to", "for", "by", "from", "with", "per", "across", "than", "more", "as",
    "at", "on", "or", "over", "this", "that", "which", "who", "were", "was", "is", "are", "have", "has", "had",
    "will", "would", "could", "may", "its", "their", "his", "her", "our", "monthly", "annual", "annually", "each",
    "every",
])
# fmt: on

# ---------------------------------------------------------------------------------------------
# the master expression: rule order is priority (first match wins at a position)

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORDNUM = (
    r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-(?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
    r"|one|two|three|four|five|six|seven|eight|nine|ten"
)
_SCALE_WORDS = r"(?:thousand|million|billion|trillion|mn|mln|bn|tn|[kmb])"
_SCALE = r"(?: ?(?:thousand|million|billion|trillion)|(?:mn|mln|bn|tn|[kmb]))\b"  # letters only when attached
_YEAR = r"(?:19|20)\d{2}"
_REL_YEAR = r"(?:[Tt]he|[Tt]his|[Nn]ext|[Ll]ast) year"
_DUR_UNIT = r"(?i:years?|months?|weeks?|days?|decades?|quarters?|hours?|minutes?|seconds?)"

_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MEASURE = (
    r"(?: (?:horsepower|hp|kilometres|kilometers|km/h|km|miles|mph|kWh|kW|GWh|kg|tonnes|tons|square metres"
    r"|square meters|acres)\b)?"
)
_NOUNS = "|".join(sorted(COUNT_NOUNS))
MONTH_NAMES = tuple(MONTHS)
WORD_NUMBERS = tuple(
    [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
    ]
)
DIGIT = ("<digit>",)  # a form whose match starts with a number
UNITS = ("year", "years", "month", "months", "week", "weeks", "day", "days", "decade", "decades", "quarter",
         "quarters", "hour", "hours", "minute", "minutes", "second", "seconds")  # fmt: skip


def _cased(*words: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for word in words for w in (word, word[0].upper() + word[1:])))


# ---------------------------------------------------------------------------------------------
# numbers


def parse_number(text: str) -> Decimal | None:
    """Digits (with thousands commas), number words ("three", "twenty-five") or "a"/"an"."""
    t = text.strip().lower().replace(",", "")
    try:  # the parse itself: Decimal says whether t is a number by raising
        x = Decimal(t)
    except InvalidOperation:
        pass
    else:
        return x if x.is_finite() else None  # "nan", "infinity" are words, not amounts
    if t in UNITS_WORDS:
        return Decimal(UNITS_WORDS[t])
    if "-" in t:
        tens, _, unit = t.partition("-")
        if tens in UNITS_WORDS and unit in UNITS_WORDS:
            return Decimal(UNITS_WORDS[tens] + UNITS_WORDS[unit])
    return None


def fmt(x: Decimal) -> str:
    """A plain decimal string: integers without a point, fractions to at most two places."""
    if x == x.to_integral_value():
        return str(int(x))
    # enough digits for any number (the default 28 would refuse a longer one instead of writing it)
    exact = Context(prec=max(getcontext().prec, x.adjusted() + 4))
    return format(x.quantize(Decimal("0.01"), context=exact).normalize(context=exact), "f")


_AMOUNT_RE = re.compile(rf"({_NUM}|{_WORDNUM}|an?)(?: ?({_SCALE_WORDS}))?\b", re.IGNORECASE)


def amount(text: str) -> Decimal | None:
    """The first number in ``text`` times its scale word ("1.5 billion" -> 1500000000)."""
    m = _AMOUNT_RE.search(text)
    if not m:
        return None
    n = parse_number(m.group(1))
    if n is None:
        return None
    scale = m.group(2)
    return n * SCALES[scale.lower()] if scale and scale.lower() in SCALES else n


# ---------------------------------------------------------------------------------------------
# value functions: (span text, text after the span, publication date) -> value


@dataclass(frozen=True)
class Pub:
    """The publication date, if known: relative dates resolve against it. A date known only to the
    year (the manifest's ``2025``) still fixes the year-relative expressions (guidelines 4.3: "this
    year" ``2025``, "H2" ``2025-H2``); what it does not fix (month, day) stays X."""

    date: dt.date | None
    only_year: int | None = None

    @classmethod
    def of(cls, iso: str | None) -> Pub:
        if iso and re.fullmatch(r"\d{4}", iso):
            return cls(None, int(iso))
        try:
            return cls(dt.date.fromisoformat(iso)) if iso else cls(None)
        except ValueError:
            return cls(None)

    @property
    def known_year(self) -> int | None:
        return self.date.year if self.date else self.only_year

    @property
    def year(self) -> str:
        return str(self.known_year) if self.known_year else "XXXX"

    def shift_year(self, k: int) -> str:
        return str(self.known_year + k) if self.known_year else "XXXX"

    def shift_month(self, k: int) -> str:
        if not self.date:
            return f"{self.only_year}-XX" if self.only_year and k == 0 else "XXXX-XX"
        n = self.date.year * 12 + self.date.month - 1 + k
        return f"{n // 12}-{n % 12 + 1:02d}"


def _month(text: str) -> int | None:
    for name, k in MONTHS.items():
        if name in text:
            return k
    return None


def _year_in(text: str) -> str | None:
    m = re.search(_YEAR, text)
    return m.group() if m else None


def _rel_year(text: str, pub: Pub) -> str:
    t = text.lower()
    if "next year" in t:
        return pub.shift_year(1)
    if "last year" in t:
        return pub.shift_year(-1)
    return pub.year


def date_full(text: str, after: str, pub: Pub) -> str:
    day = re.search(r"\b(\d{1,2})\b(?!\d)", re.sub(_YEAR, "", text))
    return f"{_year_in(text)}-{_month(text):02d}-{int(day.group(1)):02d}"


def date_month_year(text: str, after: str, pub: Pub) -> str:
    return f"{_year_in(text)}-{_month(text):02d}"


def date_month_day(text: str, after: str, pub: Pub) -> str:
    day = int(re.search(r"\d{1,2}", text).group())
    return f"{pub.year}-{_month(text):02d}-{day:02d}"


def date_month(text: str, after: str, pub: Pub) -> str:
    return f"{pub.year}-{_month(text):02d}"


def _period_year(text: str, pub: Pub) -> str:
    return _year_in(text) or (_rel_year(text, pub) if re.search(r"year\b", text) else pub.year)


def date_half(text: str, after: str, pub: Pub) -> str:
    half = "1" if re.search(r"first|1H|H1", text) else "2"
    return f"{_period_year(text, pub)}-H{half}"


def date_quarter(text: str, after: str, pub: Pub) -> str:
    return f"{_period_year(text, pub)}-Q{_quarter_word(text)}"


def _quarter_word(text: str) -> str:
    m = re.search(r"Q([1-4])", text)
    if m:
        return m.group(1)
    for k, w in enumerate(("first", "second", "third", "fourth"), start=1):
        if w in text.lower():
            return str(k)
    return "X"


def date_part(text: str, after: str, pub: Pub) -> str:
    part = re.match(r"(early|mid|late)", text.lower()).group(1)
    return f"{_year_in(text)}-{part}"


def date_end(text: str, after: str, pub: Pub) -> str:
    return f"{_year_in(text) or _rel_year(text, pub)}-late"


def date_rel(text: str, after: str, pub: Pub) -> str:
    t = text.lower()
    if "month" in t:
        return pub.shift_month({"this": 0, "next": 1, "last": -1}[t.split()[0]])
    return _rel_year(text, pub)


def date_weekday(text: str, after: str, pub: Pub) -> str:
    if not pub.date:
        return "XXXX-XX-XX"
    back = (pub.date.weekday() - WEEKDAYS[text]) % 7
    return (pub.date - dt.timedelta(days=back)).isoformat()


def date_today(text: str, after: str, pub: Pub) -> str:
    if not pub.date:
        return "XXXX-XX-XX"
    return (pub.date - dt.timedelta(days=1 if text.lower() == "yesterday" else 0)).isoformat()


def date_year(text: str, after: str, pub: Pub) -> str:
    return text


def date_decade(text: str, after: str, pub: Pub) -> str:
    return text[:3] + "X"


def money(text: str, after: str, pub: Pub) -> str | None:
    cur = "USD"
    for sym, code in sorted(CURRENCIES.items(), key=lambda kv: -len(kv[0])):
        if sym in text:
            cur = code
            break
    if re.fullmatch(r"(?:billions|millions)", text.strip()):
        lo, hi = RANGES[text.strip()]
        cur = "CNY" if after.lstrip().startswith("of yuan") else cur
        return f"{cur} {lo}..{hi}"
    x = amount(re.sub(r"[$€£¥]", " ", text))
    return f"{cur} {fmt(x)}" if x is not None else None


def percent_num(text: str, after: str, pub: Pub) -> str | None:
    x = amount(text.replace("%", " "))
    return fmt(x) if x is not None else None


def percent_frac(text: str, after: str, pub: Pub) -> str | None:
    return FRACTIONS.get(text.lower().replace("-", " "))


def duration(text: str, after: str, pub: Pub) -> str | None:
    t = text.lower()
    unit = re.search(r"(year|month|week|day|decade|quarter|hour|minute|second)s?\b", t)
    if not unit:
        return None
    u = unit.group(1)
    words = re.sub(r"\b(the|next|past|last|coming)\b", " ", t[: unit.start()]).strip(" -")
    if words in ("", "a", "an"):
        n = None if words == "" and t.endswith("s") else Decimal(1)
    elif words in ("few", "a few", "several", "many"):
        n = None
    else:
        n = parse_number(words.replace(" ", "-") if words == "a dozen" else words)
        n = Decimal(12) if words == "a dozen" else n
    if u == "decade":
        n = n * 10 if n is not None else None
    if u == "quarter":
        n = n * 3 if n is not None else None
    num = fmt(n) if n is not None else "X"
    return f"PT{num}{DURATION_UNITS[u]}" if u in TIME_UNITS else f"P{num}{DURATION_UNITS[u]}"


SYNONYMS = {"people": "person", "ev": "vehicle", "preorder": "pre-order"}  # one counted noun per concept
_RATE_RE = re.compile(r"\s+(?:[A-Za-z][\w-]*\s+){0,3}?(?:a|an|per|each|every)\s+(year|month|week|day)\b")


def counted_noun(after: str) -> str:
    """The counted noun after a number ("76,000 electric cars" -> car), singular; "unit" if none.

    A rate ("20,000 cars a month") is one unit, ``car/month``: the "a month" is its denominator.
    """
    rate = _RATE_RE.match(after)
    per = f"/{rate.group(1)}" if rate else ""
    return _noun(after) + per


def _noun(after: str) -> str:
    words = re.findall(r"[A-Za-z][\w-]*|[^\sA-Za-z]", after[:80])
    for w in words[:5]:
        if not w[0].isalpha():
            break
        s = singular(w)
        if s in COUNT_NOUNS:
            return SYNONYMS.get(s, s)
    for w in words[:3]:
        if not w[0].isalpha():
            break
        if w.lower() in STOP:
            break
        if w.islower() or w.isupper() or w[:-1].isupper():
            return SYNONYMS.get(singular(w), singular(w))
        break
    return "unit"


def singular(word: str) -> str:
    w = word.lower()
    if w in ("people", "persons"):
        return "person"
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 2:
        return w[:-1]
    return w


_LEADING_OF = re.compile(r"^\s*of\b")


def quantity(text: str, after: str, pub: Pub) -> str | None:
    t = text.strip()
    low = t.lower()
    if low in RANGES:
        lo, hi = RANGES[low]
        noun = counted_noun(_LEADING_OF.sub("", after))
        return f"{lo}..{hi} {noun}"
    if low in AGE_DECADES:
        base = AGE_DECADES[low]
        return f"{base}..{base + 9} year"
    x = amount(t)
    if x is None:
        return None
    unit = next((MEASURES[u] for u in sorted(MEASURES, key=len, reverse=True) if t.endswith(" " + u)), None)
    return f"{fmt(x)} {unit or counted_noun(after)}"


# ---------------------------------------------------------------------------------------------
# the rules: one record per kind of figure


# (span text, text after the span, publication date) -> the value, or None where there is none
ValueFn = Callable[[str, str, Pub], str | None]


@dataclass(frozen=True)
class Form:
    """One way a kind of figure is written: its pattern, and the literal words its matches start with
    (``<digit>``: a number).

    The scanner only tries the rules where some ``starts`` word begins (a cheap guard, tested to
    find exactly what the plain alternation of all rules finds).
    """

    starts: tuple[str, ...]
    pattern: str


@dataclass(frozen=True)
class Rule:
    """One kind of figure, declared in one place: the label it gives, the forms it is written in
    (tried in order) and the function that normalises a match to its value. A value function
    returns None on purpose where a value cannot be computed (a number it cannot read)."""

    kind: str
    label: str
    value: ValueFn
    forms: tuple[Form, ...]

    @property
    def pattern(self) -> str:
        """The alternation of its forms, each a group of its own (a form's ``|`` stays inside it)."""
        return "|".join(f"(?:{f.pattern})" for f in self.forms)


RULES: tuple[Rule, ...] = (
    Rule(
        "date_full",
        "DATE",
        date_full,
        (
            Form(MONTH_NAMES, rf"{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? {_YEAR}\b"),
            Form(DIGIT, rf"\b\d{{1,2}} {_MONTH},? {_YEAR}\b"),
        ),
    ),
    Rule(
        "date_month_year",
        "DATE",
        date_month_year,
        (Form(MONTH_NAMES, rf"{_MONTH},? {_YEAR}\b"),),
    ),
    Rule(
        "date_month_day",
        "DATE",
        date_month_day,
        (Form(MONTH_NAMES, rf"{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?(?![\d,.]\d)\b"),),
    ),
    Rule(
        "date_half",
        "DATE",
        date_half,
        (
            Form(
                _cased("the first half", "the second half", "first half", "second half"),
                rf"(?:[Tt]he )?(?:[Ff]irst|[Ss]econd) half"
                rf"(?: of (?:{_YEAR}|the year|this year|next year|last year))?\b",
            ),
            Form(("1H", "2H", "H1", "H2"), rf"\b(?:[12]H|H[12])(?: ?{_YEAR})?\b"),
        ),
    ),
    Rule(
        "date_quarter",
        "DATE",
        date_quarter,
        (
            Form(
                _cased(*(f"{the}{n} quarter" for the in ("the ", "") for n in ("first", "second", "third", "fourth"))),
                rf"(?:[Tt]he )?(?:[Ff]irst|[Ss]econd|[Tt]hird|[Ff]ourth) quarter"
                rf"(?: of (?:{_YEAR}|the year|this year|next year|last year))?\b",
            ),
            Form(("Q1", "Q2", "Q3", "Q4"), rf"\bQ[1-4](?: (?:of )?{_YEAR})?\b"),
        ),
    ),
    Rule(
        "date_part",
        "DATE",
        date_part,
        (Form(_cased("early", "mid", "late"), rf"\b(?:[Ee]arly|[Mm]id|[Ll]ate)[- ]{_YEAR}\b"),),
    ),
    Rule(
        "date_end",
        "DATE",
        date_end,
        (Form(_cased("the end of", "end of"), rf"(?:[Tt]he )?end of (?:{_YEAR}|the year|this year)\b"),),
    ),
    Rule(
        "duration_rel",
        "DURATION",
        duration,
        (
            Form(
                _cased("the next", "the past", "the last", "the coming"),
                rf"[Tt]he (?:next|past|last|coming) (?:(?:few|several|{_WORDNUM}|\d+) )?{_DUR_UNIT}\b",
            ),
        ),
    ),
    Rule(
        "date_rel",
        "DATE",
        date_rel,
        (
            Form(
                _cased("the year", "this year", "next year", "last year", "this month", "next month", "last month"),
                rf"\b(?:{_REL_YEAR}|(?:[Tt]his|[Nn]ext|[Ll]ast) month)\b(?!-)",
            ),
        ),
    ),
    Rule(
        "date_weekday",
        "DATE",
        date_weekday,
        (Form(tuple(WEEKDAYS), rf"\b{_WEEKDAY}\b"),),
    ),
    Rule(
        "date_today",
        "DATE",
        date_today,
        (Form(_cased("today", "yesterday"), r"\b(?:[Tt]oday|[Yy]esterday)\b"),),
    ),
    Rule(
        "date_month",
        "DATE",
        date_month,
        (
            Form(
                MONTH_NAMES,
                r"\b(?:January|February|March|April|June|July|August|September|October|November|December)\b"
                r"|(?<![.!?\n] )(?<!\n)\bMay\b(?! (?:be|have|not|also|well|take|see|need)\b)",
            ),
        ),
    ),
    Rule(
        "money_pre",
        "MONEY",
        money,
        (
            Form(("US$", "HK$", "S$", "$", "€", "£", "¥"), rf"(?:US\$|HK\$|S\$|\$|€|£|¥)\s?(?:{_NUM})(?:{_SCALE})?"),
            Form(("RMB", "CNY", "USD", "EUR", "HKD"), rf"\b(?:RMB|CNY|USD|EUR|HKD) ?(?:{_NUM})(?:{_SCALE})?"),
        ),
    ),
    Rule(
        "money_post",
        "MONEY",
        money,
        (
            Form(
                DIGIT, rf"\b(?:{_NUM})(?:{_SCALE})? (?:yuan|renminbi|RMB|CNY|USD|US dollars|dollars|euros|pounds|yen)\b"
            ),
        ),
    ),
    Rule(
        "money_vague",
        "MONEY",
        money,
        (
            Form(
                ("billions", "millions"),
                r"\b(?:billions|millions)"
                r"(?= (?:of dollars|of yuan|in (?:losses|revenue|sales|investment|funding|profits?))\b)",
            ),
        ),
    ),
    Rule(
        "percent_num",
        "PERCENT",
        percent_num,
        (Form(DIGIT, rf"\b(?:{_NUM})(?: ?%| percent\b| per cent\b| percentage points?\b)"),),
    ),
    Rule(
        "percent_frac",
        "PERCENT",
        percent_frac,
        (
            Form(
                _cased(
                    "a third", "one third", "two thirds", "two-thirds", "a quarter", "three quarters", "three-quarters"
                ),
                r"\b(?:[Aa] third|[Oo]ne third|[Tt]wo[- ]thirds|[Aa] quarter|[Tt]hree[- ]quarters)\b(?= of\b)",
            ),
            Form(("half",), r"(?<!first )(?<!second )(?<!the )(?<!a )\bhalf\b(?= (?:of|its|their|the|all)\b)"),
        ),
    ),
    Rule(
        "duration_num",
        "DURATION",
        duration,
        (
            Form(
                DIGIT
                + _cased(*WORD_NUMBERS, "a dozen")
                + _cased(*(f"{a}{sep}{u}" for a in ("a", "an") for sep in " -" for u in UNITS)),
                rf"\b(?:\d+(?:\.\d+)?|{_WORDNUM}|[Aa]n?|[Aa] dozen)[- ]{_DUR_UNIT}\b(?!-old)",
            ),
        ),
    ),
    Rule(
        "duration_vague",
        "DURATION",
        duration,
        (
            Form(
                _cased("a few", "few", "several", "many"),
                r"\b(?:[Aa] few|[Ff]ew|[Ss]everal|[Mm]any) (?:years|months|weeks|days|decades)\b",
            ),
            Form(
                ("years", "months", "weeks", "days", "decades"),
                r"(?:(?<=[Ww]ithin )|(?<=[Aa]fter )|(?<=through )|(?<=\b[Ff]or )|(?<=\b[Oo]ver )|(?<=\b[Ii]n ))"
                r"(?:years|months|weeks|days|decades)\b(?! ago)",
            ),
        ),
    ),
    Rule(
        "quantity_range",
        "QUANTITY",
        quantity,
        (
            Form(
                _cased("tens of", "hundreds of", "thousands of", "dozens of", "millions of"),
                r"\b(?:[Tt]ens of (?:thousands|millions)|[Hh]undreds of thousands"
                r"|[Tt]housands|[Hh]undreds|[Dd]ozens|[Mm]illions)\b(?= of \w)",
            ),
        ),
    ),
    Rule(
        "quantity_age",
        "QUANTITY",
        quantity,
        (
            Form(
                ("twenties", "thirties", "forties", "fifties", "sixties", "seventies"),
                r"(?:(?<=\btheir )|(?<=\bhis )|(?<=\bher ))(?:twenties|thirties|forties|fifties|sixties|seventies)\b",
            ),
        ),
    ),
    Rule(
        "date_decade",
        "DATE",
        date_decade,
        (Form(DIGIT, r"(?<=\b[Tt]he )(?:19|20)\d0s\b"),),
    ),
    Rule(
        "date_year",
        "DATE",
        date_year,
        (Form(DIGIT, rf"(?<![\w$€£¥.,-]){_YEAR}(?![\w%]|[.,]\d)"),),
    ),
    Rule(
        "quantity_num",
        "QUANTITY",
        quantity,
        (Form(DIGIT, rf"(?<![\w$€£¥.,/#-])(?:{_NUM})(?:{_SCALE})?{_MEASURE}(?![\w%]|[.,]\d)"),),
    ),
    Rule(
        "quantity_word",
        "QUANTITY",
        quantity,
        (
            Form(
                WORD_NUMBERS,
                rf"\b(?:{_WORDNUM})(?: (?:hundred|thousand|million|billion))?\b(?= (?:\w+ ){{0,2}}(?:{_NOUNS})s?\b)",
            ),
        ),
    ),
)

RULE_OF: dict[str, Rule] = {r.kind: r for r in RULES}
assert len(RULE_OF) == len(RULES), "two rules of one kind"
assert all(re.compile(f.pattern).groups == 0 for r in RULES for f in r.forms), "a form captures: use (?:...)"
# All rules in priority order (first match wins at a position), one named group per rule (its kind);
# FIGURE_RE.finditer is the reference.
FIGURE_RE = re.compile("|".join(f"(?P<{r.kind}>{r.pattern})" for r in RULES))


def trie_regex(words: list[str]) -> str:
    """A regular expression matching exactly ``words``, factored as a trie (fast to reject)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        if len(alts) == 1 and "" not in node:
            return alts[0]
        return "(?:" + "|".join(alts) + ")" + ("?" if "" in node else "")

    return emit(trie)


def _candidate_re() -> re.Pattern:
    """Positions where some rule can start. Extra positions are harmless (the rules just fail
    there); a missing one would lose a figure, which the scanner test guards against."""
    words = sorted({w for r in RULES for f in r.forms for w in f.starts if w != DIGIT[0]})
    glued = [w for w in words if w in MONTH_NAMES]  # months also start a match inside glued words
    symbols = "".join(sorted(w for w in words if len(w) == 1 and not w.isalnum()))
    wordy = [w for w in words if w[0].isalnum() and w not in glued]
    assert all(len(w) == 1 or w[0].isalnum() for w in words), "multi-character symbol triggers need the trie"
    return re.compile(rf"\b(?:{trie_regex(wordy)}\b|\d)|[{re.escape(symbols)}]|{trie_regex(glued)}")


CANDIDATE_RE = _candidate_re()


def rule_of(m: re.Match[str]) -> Rule:
    """The rule a match of ``FIGURE_RE`` is of: the one whose group matched (every match is in one)."""
    assert m.lastgroup is not None, "not a match of FIGURE_RE"
    return RULE_OF[m.lastgroup]


# ---------------------------------------------------------------------------------------------
# the two entry points


@dataclass(frozen=True)
class Figure:
    start: int
    end: int
    label: str
    value: str | None


_CAPITALISED_BEFORE = re.compile(r"\b[A-Z][\w’'-]*\s$")


def _scan(text: str):
    """What ``FIGURE_RE.finditer`` finds, trying the rules only where a rule can start."""
    end = 0
    for c in CANDIDATE_RE.finditer(text):
        pos = c.start()
        if pos < end:
            continue
        m = FIGURE_RE.match(text, pos)
        if m is not None and m.end() > pos:
            end = m.end()
            yield m


def find_figures(text: str, publication_date: str | None) -> list[Figure]:
    """Every figure of ``text`` with its normalised value, left to right, never overlapping.

    A bare number right after a capitalised word with no counted noun is a name ("Model 3"), and
    the period of a rate ("20,000 cars a month") belongs to the quantity, not a DURATION.
    """
    pub = Pub.of(publication_date)
    out = []
    skip_to = 0
    for m in _scan(text):
        if m.start() < skip_to:
            continue
        rule = rule_of(m)
        after = text[m.end() : m.end() + 80]
        if (
            rule.kind == "quantity_num"
            and _noun(after) == "unit"
            and _CAPITALISED_BEFORE.search(text[max(0, m.start() - 40) : m.start()])
        ):
            continue
        value = rule.value(m.group(), after, pub)
        if rule.label == "QUANTITY" and value and "/" in value.split(" ")[-1]:
            rate = _RATE_RE.match(after)
            skip_to = m.end() + rate.end() if rate else skip_to
        out.append(Figure(m.start(), m.end(), rule.label, value))
    return out


# the value of a figure of each label whose text no rule matches: the label's most general parse
_GENERIC: dict[str, ValueFn] = {"MONEY": money, "PERCENT": percent_num, "QUANTITY": quantity, "DURATION": duration}


def normalise(label: str, text: str, after: str, publication_date: str | None) -> str | None:
    """The value of a figure found by another system: the rule for its text, else a generic parse.

    Nothing here catches an exception: the value functions return None where they find no value
    (the generic parses take any text, and are tested on texts no rule matches).
    """
    pub = Pub.of(publication_date)
    m = FIGURE_RE.fullmatch(text)
    if m and rule_of(m).label == label:
        return rule_of(m).value(text, after, pub)
    if label == "DATE":
        inner = next((f for f in FIGURE_RE.finditer(text) if rule_of(f).label == "DATE"), None)
        return rule_of(inner).value(inner.group(), after, pub) if inner else None
    fn = _GENERIC.get(label)
    return fn(text, after, pub) if fn else None
