"""Demo service catalogue (issue 15): 33 items a resident can ask for at the village service
station (代办), across the six kinds of Long'an's catalogue, as Qinzhou moved 33 county and
town items down to the villages.

Each item has what the public catalogue (``/public/<village>/services/``) and the desk show:
the conditions, the materials to bring, the steps, the fees (mostly none), the legal basis
(the laws and regulations by their real names), the office that handles it, the level that
approves it and the promised working days (1 to 20). The items are global (no district: every
district's catalogue), keyed by code: ``load_demo_catalogue`` updates an item already there
and adds the missing ones, so it can run again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from servicedesk.models import ApprovingLevel, ServiceItem, ServiceKind

VILLAGE_OFFICE = "村民委员会"
FREE = "免费"


@dataclass(frozen=True)
class DemoItem:
    code: str
    name: str
    kind: str
    level: str
    office: str
    days: int
    conditions: str
    materials: str
    legal_basis: str
    fees: str = FREE
    steps: str = ""


def _steps(item: DemoItem) -> str:
    """The usual steps of a proxy item (代办): taken at the village, carried to the office that
    approves it, brought back; an item's own steps where it gives them."""
    if item.steps:
        return item.steps
    if item.level == ApprovingLevel.VILLAGE:
        return (
            "1. 村代办员受理，当场核对材料并出具受理回执；\n"
            f"2. {item.office}审核办理；\n"
            "3. 办结后通知申请人领取，或由代办员送达。"
        )
    return (
        "1. 村代办员受理，当场核对材料并出具受理回执（载明承诺办结日期）；\n"
        f"2. 代办员将材料送交{item.office}审核办理；\n"
        "3. 审批部门出具结果，代办员取回；\n"
        "4. 代办员通知申请人领取或送达上门，并请申请人评价。"
    )


G, P, L, C, H, D = (
    ServiceKind.GOVERNMENT,
    ServiceKind.PRODUCTION,
    ServiceKind.LEGAL,
    ServiceKind.CULTURE,
    ServiceKind.HEALTH,
    ServiceKind.PARTY,
)
COUNTY, TOWN, VILLAGE = ApprovingLevel.COUNTY, ApprovingLevel.TOWN, ApprovingLevel.VILLAGE
ID_CARD = "申请人居民身份证"
HUKOU = "户口簿"

ITEMS: tuple[DemoItem, ...] = (
    # --- 政务服务 -----------------------------------------------------------------------------
    DemoItem("ZW001", "居住证明开具", G, VILLAGE, VILLAGE_OFFICE, 1,
             "本村常住居民，因办事需要证明居住情况。",
             f"{ID_CARD}原件；{HUKOU}或居住情况说明。",
             "《中华人民共和国村民委员会组织法》"),
    DemoItem("ZW002", "户口迁移代办", G, COUNTY, "区公安分局户政大厅", 10,
             "符合户口迁入条件（投靠亲属、婚嫁、就学就业等），已取得准迁证明或符合迁移政策。",
             f"{ID_CARD}；{HUKOU}；准迁证明或婚姻、亲属关系证明材料。",
             "《中华人民共和国户口登记条例》"),
    DemoItem("ZW003", "居民身份证换领代办", G, COUNTY, "区公安分局户政大厅", 20,
             "身份证有效期满、损坏或登记项目变更；行动不便、无法前往户政大厅的群众优先。",
             f"原居民身份证；{HUKOU}；符合要求的数码相片回执。",
             "《中华人民共和国居民身份证法》", fees="工本费20元（丢失补领40元）"),
    DemoItem("ZW004", "新生儿入户登记", G, COUNTY, "区公安分局户政大厅", 5,
             "新生儿父母一方户籍在本村。",
             f"《出生医学证明》；父母双方居民身份证；{HUKOU}；结婚证。",
             "《中华人民共和国户口登记条例》"),
    DemoItem("ZW005", "农村宅基地和建房规划许可申请", G, TOWN, "乡镇人民政府自然资源规划所", 20,
             "本村集体经济组织成员，一户一宅，符合村庄规划和用地条件。",
             f"{ID_CARD}；{HUKOU}；农村宅基地和建房（规划许可）申请表；村民小组会议记录；建房设计图。",
             "《中华人民共和国土地管理法》《中华人民共和国城乡规划法》"),
    DemoItem("ZW006", "老年人优待证办理", G, COUNTY, "区民政局", 5,
             "年满60周岁的本区户籍老年人。",
             f"{ID_CARD}；{HUKOU}；近期一寸免冠照片1张。",
             "《中华人民共和国老年人权益保障法》"),
    DemoItem("ZW007", "农村不动产（房地一体）登记代办", G, COUNTY, "区不动产登记中心", 15,
             "宅基地和房屋权属清楚、无争议，已完成权籍调查。",
             f"{ID_CARD}；{HUKOU}；宅基地批准文件；权籍调查成果；村委会权属无争议证明。",
             "《不动产登记暂行条例》《中华人民共和国民法典》",
             fees="住宅类每件80元（首次登记按规定减免）"),
    # --- 生产生活 -----------------------------------------------------------------------------
    DemoItem("SC001", "农业补贴申领（耕地地力保护补贴）", P, COUNTY, "区农业农村局", 15,
             "拥有耕地承包权且耕地用于农业生产的种地农民。",
             f"{ID_CARD}；土地承包经营权证或承包合同；本人社会保障卡（惠农补贴“一卡通”）。",
             "《中华人民共和国农业法》《中华人民共和国农村土地承包法》"),
    DemoItem("SC002", "农机购置补贴申请", P, COUNTY, "区农业农村局农机服务中心", 15,
             "购买列入补贴范围的农业机械的农民或农业生产经营组织。",
             f"{ID_CARD}；购机发票；农机具合格证；机具与购机者合影；银行卡。",
             "《中华人民共和国农业机械化促进法》"),
    DemoItem("SC003", "农村危房改造申请", P, COUNTY, "区住房和城乡建设局", 20,
             "住房经鉴定为C级或D级危房的低收入户、分散供养特困人员等重点对象。",
             f"{ID_CARD}；{HUKOU}；农村危房改造申请书；困难身份证明材料；房屋现状照片。",
             "《中华人民共和国建筑法》《社会救助暂行办法》"),
    DemoItem("SC004", "林木采伐许可证申请", P, COUNTY, "区林业局", 10,
             "采伐本人承包或自有的林木，采伐限额内。",
             f"{ID_CARD}；林权证或林地承包合同；采伐作业设计；村委会意见。",
             "《中华人民共和国森林法》"),
    DemoItem("SC005", "创业担保贷款申请", P, COUNTY, "区人力资源和社会保障局就业服务中心", 15,
             "返乡创业农民工、脱贫人口等符合条件的个人，有创业项目和还款能力。",
             f"{ID_CARD}；{HUKOU}；营业执照；创业项目计划书；反担保材料。",
             "《中华人民共和国就业促进法》"),
    DemoItem("SC006", "土地承包经营权流转合同备案", P, TOWN, "乡镇农村经营管理站", 5,
             "流转双方自愿、流转期限不超过承包期剩余期限。",
             f"流转双方{ID_CARD[3:]}；土地承包经营权证；土地流转合同（一式三份）。",
             "《中华人民共和国农村土地承包法》"),
    # --- 法律服务 -----------------------------------------------------------------------------
    DemoItem("FL001", "法律援助申请", L, COUNTY, "区司法局法律援助中心", 7,
             "经济困难，需要代理或刑事辩护而没有委托律师；特定情形不受经济困难条件限制。",
             f"{ID_CARD}；经济困难状况说明表；与案件有关的材料。",
             "《中华人民共和国法律援助法》"),
    DemoItem("FL002", "人民调解申请", L, VILLAGE, "村人民调解委员会", 15,
             "邻里、婚姻家庭、土地山林等民间纠纷，当事人自愿调解。",
             f"{ID_CARD}；纠纷情况说明及相关证据材料。",
             "《中华人民共和国人民调解法》",
             steps="1. 村代办员受理并登记纠纷情况；\n2. 村人民调解委员会组织双方调解；\n"
             "3. 达成协议的制作调解协议书，回访履行情况。"),
    DemoItem("FL003", "劳动争议仲裁申请代办", L, COUNTY, "区劳动人事争议仲裁委员会", 5,
             "与用人单位发生劳动争议，在仲裁时效（一年）内。",
             f"{ID_CARD}；仲裁申请书；劳动关系证明（劳动合同、工资条、工作证等）。",
             "《中华人民共和国劳动争议调解仲裁法》"),
    DemoItem("FL004", "公证申请代办", L, COUNTY, "区公证处", 15,
             "遗嘱、继承、委托、亲属关系等需要公证的事项。",
             f"{ID_CARD}；{HUKOU}；与公证事项有关的证明材料。",
             "《中华人民共和国公证法》", fees="按公证服务收费标准收取，困难群众可申请减免"),
    # --- 文化教育 -----------------------------------------------------------------------------
    DemoItem("WJ001", "家庭经济困难学生资助申请", C, COUNTY, "区教育局学生资助管理中心", 15,
             "在读学生家庭为低保户、特困供养、脱贫户或其他经济困难家庭。",
             f"学生及监护人{ID_CARD[3:]}；{HUKOU}；家庭经济困难认定申请表；困难证明材料。",
             "《中华人民共和国教育法》"),
    DemoItem("WJ002", "生源地信用助学贷款申请", C, COUNTY, "区教育局学生资助管理中心", 10,
             "考入全日制普通高校的本区户籍家庭经济困难学生。",
             f"学生及共同借款人{ID_CARD[3:]}；{HUKOU}；录取通知书或学籍证明。",
             "《中华人民共和国教育法》《中华人民共和国高等教育法》"),
    DemoItem("WJ003", "适龄儿童入学登记代办", C, TOWN, "乡镇中心学校", 10,
             "年满6周岁的本村适龄儿童（含随迁子女）。",
             f"儿童{HUKOU}；监护人{ID_CARD[3:]}；预防接种证。",
             "《中华人民共和国义务教育法》"),
    DemoItem("WJ004", "村级文体活动场地使用预约", C, VILLAGE, VILLAGE_OFFICE, 1,
             "本村群众或文体队伍开展公益性文体活动。",
             "活动申请（时间、人数、内容）；负责人联系方式。",
             "《中华人民共和国公共文化服务保障法》"),
    # --- 医疗社保 -----------------------------------------------------------------------------
    DemoItem("YB001", "城乡居民医保参保登记", H, COUNTY, "区医疗保障局", 5,
             "未参加职工医保的本区户籍居民或持居住证的常住人员。",
             f"{ID_CARD}或{HUKOU}；新生儿提供出生医学证明。",
             "《中华人民共和国社会保险法》",
             fees="按当年城乡居民医保个人缴费标准缴纳，困难群众按规定资助参保"),
    DemoItem("YB002", "城乡居民养老保险参保登记", H, COUNTY, "区社会保险事业局", 5,
             "年满16周岁（不含在校学生），未参加职工养老保险的本区户籍居民。",
             f"{ID_CARD}；{HUKOU}。",
             "《中华人民共和国社会保险法》", fees="按本人选择的缴费档次缴纳"),
    DemoItem("YB003", "城乡居民养老保险待遇领取申请", H, COUNTY, "区社会保险事业局", 15,
             "年满60周岁，累计缴费满15年（或符合政策衔接条件），未领取其他基本养老保险待遇。",
             f"{ID_CARD}；{HUKOU}；本人社会保障卡。",
             "《中华人民共和国社会保险法》"),
    DemoItem("YB004", "高龄津贴申领", H, COUNTY, "区民政局", 15,
             "年满80周岁的本区户籍老年人。",
             f"{ID_CARD}；{HUKOU}；本人银行卡或社会保障卡。",
             "《中华人民共和国老年人权益保障法》"),
    DemoItem("YB005", "残疾人证办理", H, COUNTY, "区残疾人联合会", 20,
             "视力、听力、言语、肢体、智力、精神等残疾，经指定医院评定达到残疾标准。",
             f"{ID_CARD}；{HUKOU}；近期二寸免冠照片3张；残疾评定表。",
             "《中华人民共和国残疾人保障法》"),
    DemoItem("YB006", "最低生活保障申请", H, COUNTY, "区民政局", 20,
             "家庭人均收入低于当地低保标准，且家庭财产状况符合规定。",
             f"{ID_CARD}；{HUKOU}；低保申请书；家庭收入和财产状况申报及授权核对书。",
             "《社会救助暂行办法》"),
    DemoItem("YB007", "特困人员救助供养申请", H, COUNTY, "区民政局", 20,
             "无劳动能力、无生活来源、无法定赡养抚养扶养义务人或其义务人无履行能力的老年人、残疾人和未成年人。",
             f"{ID_CARD}；{HUKOU}；特困人员救助供养申请书；残疾人证或相关证明。",
             "《社会救助暂行办法》"),
    DemoItem("YB008", "临时救助申请", H, TOWN, "乡镇人民政府社会事务办", 10,
             "因火灾、交通事故、突发重病等意外事件导致基本生活暂时出现严重困难的家庭或个人。",
             f"{ID_CARD}；{HUKOU}；临时救助申请书；事故或医疗费用证明。",
             "《社会救助暂行办法》"),
    # --- 党建服务 -----------------------------------------------------------------------------
    DemoItem("DJ001", "党员组织关系转接", D, TOWN, "乡镇党委组织办", 5,
             "正式党员或预备党员因工作、居住地变动需转移组织关系。",
             "党员本人居民身份证；组织关系介绍信（或全国党员管理信息系统转接申请）。",
             "《中国共产党章程》《中国共产党党员教育管理工作条例》"),
    DemoItem("DJ002", "入党申请书递交", D, VILLAGE, "村党组织", 3,
             "年满十八岁、承认党的纲领和章程，愿意参加党的一个组织并在其中积极工作。",
             "本人亲笔书写的入党申请书；居民身份证复印件。",
             "《中国共产党章程》《中国共产党发展党员工作细则》",
             steps="1. 村代办员受理入党申请书并登记；\n2. 村党组织在一个月内派人同申请人谈话；\n"
             "3. 告知后续培养考察安排。"),
    DemoItem("DJ003", "流动党员活动证办理", D, TOWN, "乡镇党委组织办", 10,
             "外出务工经商6个月以上的本村党员。",
             "党员本人居民身份证；近期一寸免冠照片2张；外出去向及联系方式。",
             "《中国共产党章程》《中国共产党党员教育管理工作条例》"),
    DemoItem("DJ004", "困难党员帮扶申请", D, TOWN, "乡镇党委", 10,
             "因病、因灾、因残等原因生活困难的党员或老党员。",
             "党员本人居民身份证；困难情况说明；医疗费用或受灾证明等材料。",
             "《中国共产党章程》《中国共产党党员教育管理工作条例》"),
)  # fmt: skip


@transaction.atomic
def load_demo_catalogue() -> dict[str, int]:
    """Add the demo items that are missing and bring the others up to date (by code, every
    district). Returns ``{"new": n, "updated": n}``."""
    new = updated = 0
    for order, item in enumerate(ITEMS, start=1):
        _obj, created = ServiceItem.objects.update_or_create(
            code=item.code,
            district=None,
            defaults={
                "name": item.name,
                "kind": item.kind,
                "approving_level": item.level,
                "office": item.office,
                "conditions": item.conditions,
                "materials": item.materials,
                "steps": _steps(item),
                "fees": item.fees,
                "legal_basis": item.legal_basis,
                "promised_days": item.days,
                "at_village": True,
                "active": True,
                "sort_order": order,
            },
        )
        new += created
        updated += not created
    return {"new": new, "updated": updated}


def demo_catalogue_count() -> int:
    """How many of the demo items are loaded."""
    return ServiceItem.objects.filter(
        district__isnull=True, code__in=[i.code for i in ITEMS]
    ).count()
