"""Synthetic people and households for demo traffic: nobody here is real.

- Given names come from short lists of common names; family names are invented
  (``Testwood``, ``Mockridge``), so no combination names a real person.
- Postcodes are in ``ZZ99``, the dummy postcode area NHS systems use for an unknown
  or no fixed address; no mail is delivered there.
- NHS numbers are drawn from 999 000 0000 to 999 999 9999, which are valid but never
  issued (``reference/domain.md`` section 3.2), with a correct modulus-11 check digit,
  except the ones made to fail on purpose (:meth:`Population.bad_nhs_number`), which
  are in the same range.
- School URNs are six digits from 999100 to 999199, a block the format examples use.
- Phone numbers are in the ranges Ofcom reserves for drama (07700 900xxx,
  01632 960xxx); email addresses are at ``example.org``.
- Dates of birth fit the role: a child is 0 to 17 on the day, a parent at least 17
  years older than their eldest child.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from schemas.common import SCHOOL_AGE, nhs_check_digit

GIVEN_CHILD = (
    "Mia", "Leo", "Ava", "Noah", "Isla", "Oliver", "Amelia", "Freddie", "Ivy", "Theo",
    "Lily", "Arlo", "Ella", "Jack", "Rosie", "Finley", "Zara", "Kai", "Maya", "Ruby",
)  # fmt: skip
GIVEN_ADULT = (
    "Sam", "Alex", "Jordan", "Chris", "Dana", "Robin", "Jamie", "Morgan", "Casey", "Taylor",
    "Riley", "Drew", "Pat", "Lee", "Jo", "Kim", "Charlie", "Frankie", "Toni", "Avery",
)  # fmt: skip
FAMILY = (
    "Testwood", "Sampleford", "Demoley", "Mockridge", "Dummerton", "Exampleton",
    "Synthwell", "Fictonby", "Placeholme", "Pseudley", "Fauxton", "Imaginley",
    "Notwell", "Stubwick", "Madeupson", "Trialby",
)  # fmt: skip
STREETS = (
    "Example Street", "Sample Road", "Placeholder Lane", "Test Avenue", "Demo Close",
    "Mock Crescent", "Fixture Way", "Stub Gardens",
)  # fmt: skip
TOWNS = ("Testford", "Sampleham", "Demoton", "Mockbury")
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # UK inward codes never use C, I, K, M, O, V
_CHECK_TEN = 10  # a check digit of 10 means the nine digits make no valid number
ADULT = 18
PARENT_GAP = 17
"""A parent is at least this many years older than their eldest child."""
OLDEST_PARENT = 52


@dataclass(frozen=True)
class Person:
    """One synthetic person, as the partners would record them."""

    given_name: str
    family_name: str
    date_of_birth: date | None
    sex: str
    """``female`` or ``male`` (FHIR ``Patient.gender`` codes)."""
    nhs_number: str | None
    postcode: str
    address: str
    school_urn: str | None = None

    def age_on(self, day: date) -> int | None:
        """Whole years on ``day``, or None without a date of birth."""
        born = self.date_of_birth
        if born is None:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def without_date_of_birth(self) -> Person:
        """The same person as a partner who did not record the date of birth sends them."""
        return replace(self, date_of_birth=None)


@dataclass(frozen=True)
class Household:
    """Adults and children at one address; the first adult is the main carer."""

    adults: tuple[Person, ...]
    children: tuple[Person, ...]

    @property
    def carer(self) -> Person:
        """The adult the partners usually speak to."""
        return self.adults[0]


class Population:
    """Makes synthetic people for one day, every NHS number and postcode unique."""

    def __init__(self, rng: random.Random, day: date) -> None:
        self._rng = rng
        self.day = day
        self._nhs: set[str] = set()
        self._postcodes: set[str] = set()

    # ------------------------------------------------------------------ identifiers

    def nhs_number(self) -> str:
        """A new valid NHS number from the unissued 999 range."""
        while True:
            nine = f"999{self._rng.randrange(1_000_000):06d}"
            check = nhs_check_digit(nine)
            number = f"{nine}{check}"
            if check != _CHECK_TEN and number not in self._nhs:
                self._nhs.add(number)
                return number

    def bad_nhs_number(self) -> str:
        """A number in the 999 range whose check digit fails (a mistyped last digit)."""
        good = self.nhs_number()
        wrong = (int(good[9]) + self._rng.randrange(1, 10)) % 10
        return f"{good[:9]}{wrong}"

    def postcode(self) -> str:
        """A new dummy postcode, ``ZZ99 3AB`` style."""
        while True:
            inward = "".join(self._rng.choice(_INWARD_LETTERS) for _ in range(2))
            code = f"ZZ99 {self._rng.randrange(10)}{inward}"
            if code not in self._postcodes:
                self._postcodes.add(code)
                return code

    def address(self) -> str:
        """A one-line synthetic address."""
        rng = self._rng
        return f"{rng.randrange(1, 120)} {rng.choice(STREETS)}, {rng.choice(TOWNS)}"

    def school_urn(self) -> str:
        """A six-digit school URN from the demo block."""
        return f"{999100 + self._rng.randrange(100)}"

    def born(self, age: int) -> date:
        """A date of birth giving ``age`` whole years on the day, and for a week either side."""
        anniversary = _same_day(self.day, self.day.year - age)
        return anniversary - timedelta(days=self._rng.randrange(8, 358))

    # ------------------------------------------------------------------ people

    def person(
        self,
        age: int,
        *,
        family_name: str | None = None,
        postcode: str | None = None,
        address: str | None = None,
        nhs: bool = True,
        school: bool = True,
    ) -> Person:
        """A person of ``age``; a school-age child also gets a school when ``school``."""
        rng = self._rng
        return Person(
            given_name=rng.choice(GIVEN_CHILD if age < ADULT else GIVEN_ADULT),
            family_name=family_name or rng.choice(FAMILY),
            date_of_birth=self.born(age),
            sex=rng.choice(("female", "male")),
            nhs_number=self.nhs_number() if nhs else None,
            postcode=postcode or self.postcode(),
            address=address or self.address(),
            school_urn=self.school_urn() if school and age in SCHOOL_AGE else None,
        )

    def adult(self, low: int = 20, high: int = 60, *, nhs: bool = True) -> Person:
        """An adult aged ``low`` to ``high``."""
        return self.person(self._rng.randint(low, high), nhs=nhs)

    def household(
        self,
        children: int,
        *,
        youngest: int = 0,
        eldest: int = 17,
        nhs_share: float = 0.5,
    ) -> Household:
        """A parent and ``children`` children aged ``youngest`` to ``eldest`` at one address.

        Each person has an NHS number with probability ``nhs_share`` (police rarely
        know one; health always does).
        """
        rng = self._rng
        family_name, postcode, address = rng.choice(FAMILY), self.postcode(), self.address()
        ages = sorted((rng.randint(youngest, eldest) for _ in range(children)), reverse=True)
        kids = tuple(
            self.person(
                age,
                family_name=family_name,
                postcode=postcode,
                address=address,
                nhs=rng.random() < nhs_share,
            )
            for age in ages
        )
        youngest_parent = max(ADULT + 1, (ages[0] if ages else 0) + PARENT_GAP)
        parent = self.person(
            rng.randint(youngest_parent, max(youngest_parent, OLDEST_PARENT)),
            family_name=family_name,
            postcode=postcode,
            address=address,
            nhs=rng.random() < nhs_share,
        )
        return Household(adults=(parent,), children=kids)


def _same_day(day: date, year: int) -> date:
    """``day`` in another year; 29 February becomes 28 February."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)
