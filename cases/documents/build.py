"""Build the document templates (cases/documents/templates/*.docx) from the texts below:
`python -m cases.documents.build`. The .docx files are committed so that the centre can
open one in Word, change its wording or layout, and keep the {{ fields }} (docxtpl: Jinja2
inside Word; `{%p for %}` repeats a paragraph). Run this again only to start over."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

HERE = Path(__file__).with_name("templates")
FONT = "SimSun"  # 宋体, what a Chinese office's Word has; LibreOffice maps it to Noto CJK

PARTIES = [
    "{%p for p in parties %}",
    "{{ p.role }}：{{ p.name }}，联系电话：{{ p.phone }}"
    "{% if p.id_number %}，身份证号：{{ p.id_number }}{% endif %}"
    "{% if p.address %}，住址：{{ p.address }}{% endif %}",
    "{%p endfor %}",
]
SIGNATURES = [
    "当事人（签名、盖章或按指印）：",
    "{%p for p in parties %}",
    "{{ p.role }}：____________",
    "{%p endfor %}",
    "人民调解员（签名）：{{ mediator_name }}  ____________",
    "{{ org_name }}（印章）",
    "{{ agreed_on }}",
]
AGREEMENT_BODY = [
    "编号：{{ case_no }}",
    *PARTIES,
    "纠纷主要事实：{{ facts }}",
    "争议事项：{{ points_in_dispute }}",
    "经{{ org_name }}调解，当事人自愿达成如下协议：",
    "{{ terms }}",
    "各方承担的义务：",
    "{%p for u in undertakings %}",
    "{{ u.who }}：{{ u.obligation }}",
    "{%p endfor %}",
    "履行方式：{{ performance_manner }}",
    "履行期限：{{ performance_due }}",
]
EFFECT = (
    "本协议书自各方当事人签名、盖章或者按指印，人民调解员签名并加盖人民调解委员会印章之日起"
    "生效。本协议书一式{{ copies }}份，当事人各执一份，人民调解委员会留存一份。"
)

TEMPLATES: dict[str, tuple[str, list[str]]] = {
    "registration": (
        "人民调解受理登记表",
        [
            "案件编号：{{ case_no }}    登记日期：{{ registered_on }}",
            "纠纷类型：{{ dispute_type }}    来源渠道：{{ channel }}",
            "纠纷发生地：{{ place }}",
            "当事人：",
            *PARTIES,
            "纠纷简要情况：{{ summary }}",
            "风险等级：{{ risk_level }}",
            "受理组织：{{ org_name }}    调解员：{{ mediator_name }}",
            "当事人申请人民调解，经审查符合受理条件，予以登记。",
            "申请人（签名或按指印）：____________    登记人：____________",
        ],
    ),
    "agreement": ("人民调解协议书", [*AGREEMENT_BODY, EFFECT, *SIGNATURES]),
    "labor_agreement": (
        "劳动争议调解协议书",
        [
            *AGREEMENT_BODY,
            EFFECT,
            "本协议对双方当事人具有约束力，当事人应当履行。一方当事人在协议约定期限内不履行的，"
            "另一方当事人可以依法向{{ arbitration_body }}申请仲裁；申请仲裁的时效期间为一年，"
            "至{{ limitation_until }}届满"
            "（《中华人民共和国劳动争议调解仲裁法》第十五条、第二十七条）。",
            *SIGNATURES,
        ],
    ),
    "oral_agreement": (
        "口头调解协议登记表",
        [
            "编号：{{ case_no }}",
            *PARTIES,
            "纠纷主要事实：{{ facts }}",
            "当事人当场达成口头协议，内容如下：",
            "{{ terms }}",
            "履行方式及期限：{{ performance_manner }}；{{ performance_due }}",
            "登记人（人民调解员）：{{ mediator_name }}    {{ org_name }}    {{ agreed_on }}",
        ],
    ),
    "arbitration_notice": (
        "劳动争议仲裁权利告知书",
        [
            "{{ party_names }}：",
            "你们之间的劳动争议（编号{{ case_no }}），自{{ org_name }}受理之日起十五日内未达成调解"
            "协议。根据《中华人民共和国劳动争议调解仲裁法》第十四条、第二十七条，当事人可以依法向"
            "{{ arbitration_body }}申请仲裁。仲裁时效期间为一年，至{{ limitation_until }}届满。",
            "如双方均同意继续调解，可告知调解员。",
            "{{ org_name }}",
            "{{ notice_on }}",
        ],
    ),
    "termination_notice": (
        "终止调解告知书",
        [
            "{{ party_names }}：",
            "你们之间的纠纷（编号{{ case_no }}）经{{ org_name }}调解，因{{ outcome }}，调解终止。",
            "当事人可以通过以下途径解决纠纷：",
            "{%p for r in routes %}",
            "{{ loop.index }}. {{ r }}",
            "{%p endfor %}",
            "{{ org_name }}",
            "{{ closed_on }}",
        ],
    ),
    "follow_up": (
        "回访记录",
        [
            "案件编号：{{ case_no }}    第{{ n }}次回访",
            "回访时间：{{ visited_at }}    回访人：{{ mediator_name }}",
            "调解协议：{{ terms }}",
            "履行情况：{{ result }}",
            "回访情况：{{ notes }}",
            "回访人（签名）：____________",
        ],
    ),
    "case_file": (
        "人民调解卷宗",
        [
            "案件编号：{{ case_no }}",
            "案由：{{ dispute_type }}",
            "当事人：{{ party_names }}",
            "调解组织：{{ org_name }}",
            "调解员：{{ mediator_name }}",
            "受理日期：{{ registered_on }}    结案日期：{{ closed_on }}",
            "调解结果：{{ outcome }}",
            "卷内文书目录",
            "{%p for d in index %}",
            "{{ loop.index }}. {{ d.title }}    {{ d.on }}",
            "{%p endfor %}",
        ],
    ),
}


def build(kind: str, title: str, lines: list[str]) -> None:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(title)
    run.bold = True
    run.font.size = Pt(18)
    for line in lines:
        doc.add_paragraph(line)
    doc.save(str(HERE / f"{kind}.docx"))


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for kind, (title, lines) in TEMPLATES.items():
        build(kind, title, lines)
        print(f"{HERE / kind}.docx")


if __name__ == "__main__":
    main()
