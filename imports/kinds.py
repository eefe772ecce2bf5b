"""The kinds of record a county imports, each with the columns its files carry.

A ``Column`` is what the template writes and what the header matching looks for: the English
``key`` (what the code uses, and what an English file may use as its header), the Chinese
``header`` (what the template writes), whether it is ``required`` (a file without it is
refused as a whole), its ``help`` (a msgid, shown on the template's 说明 sheet in the reader's
language), an ``example`` value (the template's example row) and ``text``: codes, ID numbers
and phones are kept as text, so that Excel does not turn ``450702199001011235`` into
``4.50702E+17`` or drop a leading zero.

The registry is a plain dict: ``KINDS`` (declared so far) and ``KIND_NAMES`` (every kind the
command accepts, issue 13). The next session declares the remaining kinds here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

# Every kind of record `import_records` accepts (issue 13, point 1), in the order a county
# loads them.
KIND_NAMES: tuple[str, ...] = (
    "buildings",
    "households",
    "workers",
    "roles",
    "stations",
    "catchments",
    "party_branches",
    "party_members",
    "central_households",
    "service_centres",
    "ten_household_units",
)


@dataclass(frozen=True)
class Column:
    """One column of a kind's files (see the module docstring)."""

    key: str
    header: str
    help: str
    example: str | int | float = ""
    required: bool = False
    text: bool = False


@dataclass(frozen=True)
class Kind:
    """A kind of record: its name (a ``KIND_NAMES`` entry), its label (a msgid) and columns."""

    name: str
    label: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        """The column with ``key`` (KeyError if the kind has none)."""
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)


HOUSEHOLDS = Kind(
    name="households",
    label=gettext_noop("households"),
    columns=(
        Column(
            "code",
            "户编号",
            gettext_noop(
                "The county's household number: the stable key. A row with a number already "
                "imported updates that household."
            ),
            example="4507020010010010001",
            required=True,
            text=True,
        ),
        Column(
            "head_name",
            "户主姓名",
            gettext_noop("Name of the head of household."),
            example="张三",
            required=True,
        ),
        Column(
            "id_number",
            "身份证号",
            gettext_noop(
                "Resident identity card number of the head of household: 18 characters, the "
                "last a digit or X. Keep the column formatted as text."
            ),
            example="450702199001011234",
            text=True,
        ),
        Column(
            "phone",
            "联系电话",
            gettext_noop("A mainland mobile number or a landline with its area code."),
            example="13800000000",
            text=True,
        ),
        Column(
            "address",
            "地址",
            gettext_noop("Address of the dwelling."),
            example="钦南区沙埠镇某村1号",
            required=True,
        ),
        Column(
            "size",
            "人口数",
            gettext_noop("Number of people in the household, 1 to 30 (empty: 1)."),
            example=3,
        ),
        Column(
            "tags",
            "标签",
            gettext_noop(
                "Labels separated by commas, in Chinese or English, for example 留守老人, 低保户."
            ),
            example="留守老人",
        ),
        Column(
            "lon",
            "经度",
            gettext_noop(
                "Longitude in decimal degrees. Empty: the household takes its building's location."
            ),
            example=108.6543,
        ),
        Column(
            "lat",
            "纬度",
            gettext_noop(
                "Latitude in decimal degrees. Empty: the household takes its building's location."
            ),
            example=21.9512,
        ),
        Column(
            "building_code",
            "建筑编号",
            gettext_noop("Code of the building the household lives in (see the buildings import)."),
            example="B0001",
            text=True,
        ),
    ),
)

WORKERS = Kind(
    name="workers",
    label=gettext_noop("workers"),
    columns=(
        Column("name", "姓名", gettext_noop("Full name."), example="李四", required=True),
        Column(
            "phone",
            "手机号",
            gettext_noop(
                "Mainland mobile number: the stable key. A row with a number already imported "
                "updates that worker."
            ),
            example="13900000000",
            required=True,
            text=True,
        ),
        Column(
            "id_number",
            "身份证号",
            gettext_noop(
                "Resident identity card number: 18 characters, the last a digit or X. Keep the "
                "column formatted as text."
            ),
            example="450702198507150018",
            text=True,
        ),
        Column("email", "邮箱", gettext_noop("E-mail address."), example="lisi@example.cn"),
        Column(
            "party_member",
            "是否党员",
            gettext_noop("是 or 否 (yes or no; empty: no)."),
            example="是",
        ),
    ),
)

KINDS: dict[str, Kind] = {kind.name: kind for kind in (HOUSEHOLDS, WORKERS)}


def get_kind(name: str) -> Kind | None:
    """The declared kind called ``name``; None for a kind not declared yet (or unknown)."""
    return KINDS.get(name)
