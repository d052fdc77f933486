"""Seed the Hechuan roster (DESIGN §1): every kind of mediation body, invented mediators, and
the contacts the outbox's non-party audiences reach (DESIGN §6), with invented numbers.

Idempotent: rows are keyed by fixed ids and merged, so a second run changes nothing. Contacts
are only added where missing, never overwritten: a number an admin put in the `contacts`
table stays when `make up` seeds again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from core.db import insert_ignore, session_scope
from models.enums import DUTY_SUPERVISOR, POLICE_LIAISON, OrgKind
from models.tables import Contact, Mediator, Organization


@dataclass(frozen=True)
class OrgSeed:
    id: str
    name: str
    kind: OrgKind
    town: str | None
    community: str | None
    mediators: tuple[tuple[str, str, int], ...]  # (name, title, capacity)
    specialty: str | None = None


STREETS = ("合阳城街道", "钓鱼城街道", "南津街街道", "云门街道", "草街街道")
TOWNS = ("三庙镇", "龙市镇", "双槐镇")
TOWN_SLUGS = {
    "合阳城街道": "heyangcheng",
    "钓鱼城街道": "diaoyucheng",
    "南津街街道": "nanjinjie",
    "云门街道": "yunmen",
    "草街街道": "caojie",
    "三庙镇": "sanmiao",
    "龙市镇": "longshi",
    "双槐镇": "shuanghuai",
}

ORGS: tuple[OrgSeed, ...] = (
    OrgSeed(
        "fe-sanmiao-qijian",
        "七间社区五老工作室",
        OrgKind.five_elders_studio,
        "三庙镇",
        "七间社区",
        (("周德明", "退休教师", 4), ("罗秀英", "老党员", 3)),
    ),
    OrgSeed(
        "fe-heyang-lishizi",
        "立石子社区五老工作室",
        OrgKind.five_elders_studio,
        "合阳城街道",
        "立石子社区",
        (("陈光荣", "退休干部", 4), ("何玉兰", "劳动模范", 3)),
    ),
    OrgSeed(
        "fe-nanjin-shiguba",
        "石鼓坝社区五老工作室",
        OrgKind.five_elders_studio,
        "南津街街道",
        "石鼓坝社区",
        (("唐国强", "退役军人", 4), ("蒋淑芬", "退休教师", 3)),
    ),
    OrgSeed(
        "fe-diaoyu-gulou",
        "鼓楼社区五老工作室",
        OrgKind.five_elders_studio,
        "钓鱼城街道",
        "鼓楼社区",
        (("邓志远", "退休法官", 4), ("谢桂芳", "老党员", 3)),
    ),
    OrgSeed(
        "vet-heyang-lishizi",
        "立石子社区老兵调解室",
        OrgKind.veterans_mediation_room,
        "合阳城街道",
        "立石子社区",
        (("曾卫东", "退役军人", 3),),
    ),
    OrgSeed(
        "vet-sanmiao-qijian",
        "七间社区老兵调解室",
        OrgKind.veterans_mediation_room,
        "三庙镇",
        "七间社区",
        (("吴建军", "退役军人", 3),),
    ),
    OrgSeed(
        "union-labor",
        "合川区总工会劳动争议人民调解委员会",
        OrgKind.union_labor_committee,
        None,
        None,
        (("刘振华", "工会调解员", 6), ("杨晓梅", "工会调解员", 6), ("孙海波", "劳动法律顾问", 5)),
    ),
    OrgSeed(
        "wf-marriage",
        "合川区妇联婚姻家庭纠纷人民调解委员会",
        OrgKind.womens_federation_marriage_committee,
        None,
        None,
        (("黄丽萍", "婚调委调解员", 5), ("郑红梅", "心理咨询师", 5), ("冯静", "婚调委调解员", 4)),
    ),
    OrgSeed(
        "pro-medical",
        "合川区医疗纠纷人民调解委员会",
        OrgKind.professional_mediation_org,
        None,
        None,
        (("许文博", "医学顾问", 4),),
        specialty="medical",
    ),
    OrgSeed(
        "pro-traffic",
        "合川区道路交通事故纠纷调解中心",
        OrgKind.professional_mediation_org,
        None,
        None,
        (("马建平", "交通事故调解员", 4),),
        specialty="traffic",
    ),
    *(
        OrgSeed(
            f"town-{TOWN_SLUGS[t]}",
            f"{t}人民调解委员会",
            OrgKind.town_mediation_committee,
            t,
            None,
            ((f"{t[:2]}调解员甲", "专职调解员", 6), (f"{t[:2]}调解员乙", "专职调解员", 6)),
        )
        for t in (*STREETS, *TOWNS)
    ),
    # Added after the town committees, so the contacts seeded before keep their numbers.
    OrgSeed(
        "vet-nanjin-shiguba",
        "石鼓坝社区退役军人调解室",
        OrgKind.veterans_mediation_room,
        "南津街街道",
        "石鼓坝社区",
        (("彭永刚", "退役军人", 3),),
    ),
    OrgSeed(
        "pro-property",
        "合川区物业纠纷人民调解委员会",
        OrgKind.professional_mediation_org,
        None,
        None,
        (("梁志诚", "物业纠纷调解员", 4),),
        specialty="property",
    ),
    OrgSeed(
        "pro-consumer",
        "合川区消费纠纷人民调解委员会",
        OrgKind.professional_mediation_org,
        None,
        None,
        (("邱雅琴", "消费维权调解员", 4),),
        specialty="consumer",
    ),
)


def mediator_id(org_id: str, index: int) -> str:
    return f"{org_id}-m{index + 1}"


# The centre's own desks: (audience, name, phone). Invented numbers, in the range the tests'
# parties use; a real deployment puts its own in the `contacts` table.
DESK_CONTACTS: tuple[tuple[str, str, str], ...] = (
    (POLICE_LIAISON, "合川区公安分局驻中心联络民警", "13800001110"),
    (DUTY_SUPERVISOR, "区矛调中心值班领导", "13800001120"),
    ("supervisors", "区矛调中心领导", "13800001130"),
)


def contacts() -> list[tuple[str, str, str]]:
    """Every seeded contact: the desks, each organisation's duty phone, each mediator's."""
    rows = list(DESK_CONTACTS)
    rows += [(f"org:{org.id}", org.name, f"138000012{n:02d}") for n, org in enumerate(ORGS, 1)]
    n = 0
    for org in ORGS:
        for i, (name, _title, _capacity) in enumerate(org.mediators):
            n += 1
            rows.append((f"mediator:{mediator_id(org.id, i)}", name, f"1380000{3000 + n}"))
    return rows


def seed(engine: Engine) -> tuple[int, int]:
    """Merge the roster into the store; returns (organisations, mediators) seeded."""
    mediators = 0
    with session_scope(engine) as session:
        for org in ORGS:
            session.merge(
                Organization(
                    id=org.id,
                    name=org.name,
                    kind=org.kind.value,
                    town=org.town,
                    community=org.community,
                    specialty=org.specialty,
                    active=True,
                )
            )
        session.flush()
        for org in ORGS:
            for i, (name, title, capacity) in enumerate(org.mediators):
                session.merge(
                    Mediator(
                        id=mediator_id(org.id, i),
                        org_id=org.id,
                        name=name,
                        title=title,
                        capacity=capacity,
                        active=True,
                    )
                )
                mediators += 1
        for audience, name, phone in contacts():
            insert_ignore(
                session,
                Contact,
                {"audience": audience, "name": name, "phone": phone},
                ["audience"],
            )
    return len(ORGS), mediators
