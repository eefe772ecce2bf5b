"""The kinds of record a county imports, each with the columns its files carry.

A ``Column`` is what the template writes and what the header matching looks for: the English
``key`` (what the code uses, and what an English file may use as its header), the Chinese
``header`` (what the template writes), whether it is ``required`` (a file without it is
refused as a whole), its ``help`` (a msgid, shown on the template's 说明 sheet in the reader's
language), an ``example`` value (the template's example row) and ``text``: codes, ID numbers
and phones are kept as text, so that Excel does not turn ``450702199001011235`` into
``4.50702E+17`` or drop a leading zero. ``short`` is the column's name in a Shapefile, whose
field names hold at most 10 bytes: given for every key longer than that (``building_code`` ->
``bldg_code``); the header matching accepts it, and the key cut at 10 characters (what GDAL
makes of a long name), as it accepts the key.

The registry is a plain dict: ``KINDS`` (every kind, in the order a county loads them) and
``KIND_NAMES`` (the command's choices).
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
    "duty_shifts",
    "service_items",
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
    short: str = ""

    @property
    def field_name(self) -> str:
        """The column's name in a Shapefile (10 bytes at most)."""
        return self.short or self.key


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
            short="bldg_code",
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
            short="party_mem",
        ),
    ),
)


# Columns several kinds share.
def _lon(what: str) -> Column:
    return Column("lon", "经度", what, example=108.6543)


def _lat(what: str) -> Column:
    return Column("lat", "纬度", what, example=21.9512)


def _village_code(help_msgid: str, *, required: bool) -> Column:
    return Column(
        "village_code",
        "村编码",
        help_msgid,
        example="450702100201",
        required=required,
        text=True,
        short="vill_code",
    )


BUILDINGS = Kind(
    name="buildings",
    label=gettext_noop("buildings"),
    columns=(
        Column(
            "code",
            "建筑编号",
            gettext_noop(
                "The county's building number: the stable key. A row with a number already "
                "imported updates that building; households name it in their 建筑编号 column."
            ),
            example="B0001",
            required=True,
            text=True,
        ),
        Column(
            "name",
            "名称",
            gettext_noop("Name of the building (empty: its address is its name)."),
            example="沙埠镇某村1号楼",
        ),
        Column(
            "address",
            "地址",
            gettext_noop("Address of the building."),
            example="钦南区沙埠镇某村1号",
        ),
        _lon(
            gettext_noop(
                "Longitude of the building in decimal degrees, when the file has no footprint: "
                "the building gets a small square footprint around the point."
            )
        ),
        _lat(
            gettext_noop(
                "Latitude of the building in decimal degrees, when the file has no footprint."
            )
        ),
        Column(
            "floors",
            "层数",
            gettext_noop("Number of floors (empty: 1)."),
            example=3,
        ),
        Column(
            "footprint",
            "轮廓",
            gettext_noop(
                "The footprint as WKT in WGS84 longitude and latitude, for example "
                "POLYGON ((108.65 21.95, 108.6501 21.95, 108.6501 21.9501, 108.65 21.95)). "
                "Empty: the point of 经度 and 纬度. A GeoPackage, Shapefile or GeoJSON "
                "carries the footprint as its geometry instead."
            ),
        ),
    ),
)

ROLES = Kind(
    name="roles",
    label=gettext_noop("role assignments"),
    columns=(
        Column(
            "phone",
            "手机号",
            gettext_noop(
                "Mobile number of the worker who holds the role (see the workers import)."
            ),
            example="13900000000",
            required=True,
            text=True,
        ),
        Column(
            "name",
            "姓名",
            gettext_noop("Name of the worker, for the reader (the worker is found by phone)."),
            example="李四",
        ),
        Column(
            "role",
            "角色",
            gettext_noop(
                "The role by its Chinese name: 网格长, 网格员, 党建指导员 (on a grid); "
                "村党组织书记, 村治调主任, 村调解队成员, 村法律顾问, 辅警 (on a village); "
                "站长, 副站长, 专职党务工作者 (on a station); 镇综治平台调度员, 镇值班员 "
                "(on a town)."
            ),
            example="网格长",
            required=True,
        ),
        Column(
            "place_code",
            "地点编码",
            gettext_noop(
                "Where the role is held: the code of the grid, village or town, or of the "
                "station (for example 450702100S01)."
            ),
            example="450702100201001",
            required=True,
            text=True,
        ),
        Column(
            "start",
            "起始日期",
            gettext_noop("First day the worker holds the role."),
            example="2024-01-01",
            required=True,
        ),
        Column(
            "end",
            "结束日期",
            gettext_noop("Last day the worker holds the role (empty: holds it still)."),
        ),
    ),
)

STATIONS = Kind(
    name="stations",
    label=gettext_noop("stations"),
    columns=(
        Column(
            "code",
            "工作站编码",
            gettext_noop(
                "The station's code: its town's 9-digit code, S and two digits (450702100S01). "
                "The stable key: a row with a code already imported updates that station."
            ),
            example="450702100S01",
            required=True,
            text=True,
        ),
        Column(
            "name",
            "名称",
            gettext_noop("Name of the station."),
            example="某某党建工作站",
            required=True,
        ),
        Column(
            "town_code",
            "乡镇编码",
            gettext_noop("The 9-digit code of the station's town."),
            example="450702100",
            required=True,
            text=True,
        ),
        Column("address", "地址", gettext_noop("Address of the station."), example="沙埠镇某路1号"),
        _lon(gettext_noop("Longitude of the station in decimal degrees.")),
        _lat(gettext_noop("Latitude of the station in decimal degrees.")),
    ),
)

CATCHMENTS = Kind(
    name="catchments",
    label=gettext_noop("catchments"),
    columns=(
        _village_code(
            gettext_noop("The 12-digit code of the village the station serves."), required=True
        ),
        Column(
            "station_code",
            "工作站编码",
            gettext_noop(
                "The code of the station that serves the village (see the stations import)."
            ),
            example="450702100S01",
            required=True,
            text=True,
            short="stat_code",
        ),
        Column(
            "start",
            "起始日期",
            gettext_noop(
                "First day the station serves the village (empty: today). The village's "
                "previous station serves it until the day before."
            ),
            example="2024-01-01",
        ),
    ),
)

PARTY_BRANCHES = Kind(
    name="party_branches",
    label=gettext_noop("party branches"),
    columns=(
        Column(
            "code",
            "支部编码",
            gettext_noop(
                "The county's code for the branch: the stable key. A row with a code already "
                "imported updates that branch."
            ),
            example="45070210020101",
            required=True,
            text=True,
        ),
        Column(
            "name",
            "支部名称",
            gettext_noop("Name of the branch."),
            example="某村党支部",
            required=True,
        ),
        _village_code(gettext_noop("The 12-digit code of the branch's village."), required=True),
    ),
)

PARTY_MEMBERS = Kind(
    name="party_members",
    label=gettext_noop("party members"),
    columns=(
        Column(
            "household_code",
            "户编号",
            gettext_noop(
                "The number of the member's household (see the households import). A member is "
                "known by household and name: a row with both already imported updates that "
                "member."
            ),
            example="4507020010010010001",
            required=True,
            text=True,
            short="hh_code",
        ),
        Column(
            "name",
            "姓名",
            gettext_noop("Full name of the party member."),
            example="王五",
            required=True,
        ),
        Column(
            "branch_code",
            "支部编码",
            gettext_noop("The code of the member's branch (see the party branches import)."),
            example="45070210020101",
            required=True,
            text=True,
            short="brch_code",
        ),
        Column(
            "joined_on",
            "入党日期",
            gettext_noop("Date the member joined the party."),
            example="2010-07-01",
        ),
        Column(
            "phone",
            "手机号",
            gettext_noop(
                "When the member is also a worker: the worker's mobile number (see the workers "
                "import), which links the two."
            ),
            text=True,
        ),
    ),
)

CENTRAL_HOUSEHOLDS = Kind(
    name="central_households",
    label=gettext_noop("central households"),
    columns=(
        Column(
            "household_code",
            "户编号",
            gettext_noop(
                "The number of the household designated a central household: the stable key."
            ),
            example="4507020010010010001",
            required=True,
            text=True,
            short="hh_code",
        ),
        Column(
            "member_name",
            "党员姓名",
            gettext_noop("Name of the party member who runs the central household."),
            example="王五",
            required=True,
            short="mem_name",
        ),
        Column(
            "member_household_code",
            "党员户编号",
            gettext_noop(
                "The number of the party member's household (empty: the central household itself)."
            ),
            text=True,
            short="mem_hh",
        ),
        Column(
            "designated_on",
            "认定日期",
            gettext_noop("Date the household was designated."),
            example="2023-03-01",
            required=True,
            short="desig_on",
        ),
    ),
)

SERVICE_CENTRES = Kind(
    name="service_centres",
    label=gettext_noop("service centres"),
    columns=(
        Column(
            "code",
            "编码",
            gettext_noop(
                "The county's code for the centre: the stable key. A row with a code already "
                "imported updates that centre."
            ),
            example="SC0001",
            required=True,
            text=True,
        ),
        Column(
            "name",
            "名称",
            gettext_noop("Name of the centre."),
            example="某村党群服务中心",
            required=True,
        ),
        _village_code(gettext_noop("The 12-digit code of the centre's village."), required=False),
        _lon(
            gettext_noop(
                "Longitude of the centre in decimal degrees (a GeoPackage, Shapefile or GeoJSON "
                "carries the point as its geometry instead)."
            )
        ),
        _lat(gettext_noop("Latitude of the centre in decimal degrees.")),
    ),
)

TEN_HOUSEHOLD_UNITS = Kind(
    name="ten_household_units",
    label=gettext_noop("ten-household units"),
    columns=(
        Column(
            "head_household_code",
            "联户长户编号",
            gettext_noop(
                "The number of the unit head's household: the stable key. A row with a head "
                "household already imported updates that unit."
            ),
            example="4507020010010010001",
            required=True,
            text=True,
            short="head_hh",
        ),
        Column(
            "name",
            "联户名称",
            gettext_noop("Name of the unit."),
            example="某村第1联户",
            required=True,
        ),
        Column(
            "central_household_code",
            "中心户户编号",
            gettext_noop("The number of the central household the unit belongs to (empty: none)."),
            text=True,
            short="central_hh",
        ),
        Column(
            "member_codes",
            "成员户编号",
            gettext_noop(
                "The numbers of the member households, separated by commas or 、 (the head "
                "household is a member whether listed or not)."
            ),
            example="4507020010010010001、4507020010010010002",
            text=True,
            short="members",
        ),
    ),
)

# Duty rosters (issue 14): one row per worker on duty at a village, station or town on a day.
DUTY_SHIFTS = Kind(
    name="duty_shifts",
    label=gettext_noop("duty shifts"),
    columns=(
        Column(
            "place_code",
            "地点编码",
            gettext_noop(
                "Where the worker is on duty: the code of the village or town, or of the station "
                "(for example 450702100S01)."
            ),
            example="450702100201",
            required=True,
            text=True,
        ),
        Column(
            "date",
            "日期",
            gettext_noop("The day of the duty."),
            example="2026-03-02",
            required=True,
        ),
        Column(
            "phone",
            "手机号",
            gettext_noop(
                "Mobile number of the worker on duty (see the workers import); they must hold a "
                "role at the place that day."
            ),
            example="13900000000",
            required=True,
            text=True,
        ),
        Column(
            "name",
            "姓名",
            gettext_noop("Name of the worker, for the reader (the worker is found by phone)."),
            example="李四",
        ),
        Column(
            "span",
            "班次",
            gettext_noop(
                "全天, 上午 or 下午 (all day, morning or afternoon; empty: all day). A town's "
                "全天 also makes the worker the town's on-duty officer that day."
            ),
            example="全天",
        ),
        Column("note", "备注", gettext_noop("A note (at most 200 characters).")),
    ),
)

# The service catalogue (issue 15): one row per item a district (or every district) offers.
SERVICE_ITEMS = Kind(
    name="service_items",
    label=gettext_noop("service items"),
    columns=(
        Column(
            "code",
            "事项编码",
            gettext_noop(
                "The item's code. With the district code it is the stable key: a row with a "
                "code already imported for the same district (or for every district) updates "
                "that item."
            ),
            example="YB004",
            required=True,
            text=True,
        ),
        Column("name", "事项名称", gettext_noop("Name of the item."), example="高龄津贴申领",
               required=True),
        Column(
            "kind",
            "事项类别",
            gettext_noop(
                "One of the six kinds, in Chinese or English: 政务服务, 生产生活, 法律服务, "
                "文化教育, 医疗社保, 党建服务."
            ),
            example="医疗社保",
            required=True,
        ),
        Column(
            "approving_level",
            "审批层级",
            gettext_noop(
                "The level that approves it: 县级, 乡镇 or 村级 (county, town or village)."
            ),
            example="县级",
            required=True,
            short="approving",
        ),
        Column("office", "承办单位", gettext_noop("The office that handles it."),
               example="区民政局"),
        Column("conditions", "办理条件", gettext_noop("Who can apply, on what conditions."),
               example="年满80周岁的本区户籍老年人。"),
        Column("materials", "所需材料", gettext_noop("The materials the resident brings."),
               example="居民身份证；户口簿；本人银行卡或社会保障卡。"),
        Column(
            "steps",
            "办理流程",
            gettext_noop("The steps, one per line if you like."),
            example="1. 村代办员受理；2. 送区民政局审核；3. 办结后通知领取。",
        ),
        Column("fees", "收费标准", gettext_noop("The fees (empty or 免费: none)."),
               example="免费"),
        Column(
            "legal_basis",
            "法律依据",
            gettext_noop("The laws and regulations it rests on."),
            example="《中华人民共和国老年人权益保障法》",
            short="legal",
        ),
        Column(
            "promised_days",
            "承诺办结时限（工作日）",
            gettext_noop(
                "The promised time in working days, 1 to 365: the promised date of a request is "
                "that many working days after it is taken."
            ),
            example=15,
            required=True,
            short="days",
        ),
        Column(
            "at_village",
            "可在村办理",
            gettext_noop(
                "是 or 否: whether it is taken at the village service station (empty: 是)."
            ),
            example="是",
        ),
        Column(
            "district_code",
            "区县编码",
            gettext_noop(
                "The 6-digit code of the district that offers it; empty: every district (only "
                "a superuser imports those)."
            ),
            example="450702",
            text=True,
            short="district",
        ),
    ),
)  # fmt: skip

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        BUILDINGS,
        HOUSEHOLDS,
        WORKERS,
        ROLES,
        STATIONS,
        CATCHMENTS,
        PARTY_BRANCHES,
        PARTY_MEMBERS,
        CENTRAL_HOUSEHOLDS,
        SERVICE_CENTRES,
        TEN_HOUSEHOLD_UNITS,
        DUTY_SHIFTS,
        SERVICE_ITEMS,
    )
}


def get_kind(name: str) -> Kind | None:
    """The kind called ``name``; None for an unknown name."""
    return KINDS.get(name)
