"""The risk screen's phrase lexicon (activities/risk.py; DESIGN §2 R3, R11): data only.

Kept as a Python module so that it ships in the wheel and the image with the code that reads
it. Every entry is a pattern of one or more parts joined by ` + `; a part lists alternatives
separated by `|`. A part matches only whole words of the segmented summary (so 杀猪 is not
杀, and "skill" is not "kill"), and each part must follow the previous one in the same clause
with at most WINDOW words between them (` +1 ` says at most one). A last part written `!a|b`
says that the word right after the match must not be one of those (打他 + 电话 is a call).
English is matched lower-cased, whole words only.

Changing this file changes screening results: run `make risk-eval`, and add the summaries
that made you change it to tests/data/risk_eval.jsonl.
"""

from __future__ import annotations

WINDOW = 3

_CLUB = (
    "刀|菜刀|砍刀|尖刀|水果刀|剔骨刀|剪刀|刀子|镰刀|斧头|斧子|铁棍|木棍|棍子|棍棒|钢管"
    "|铁锹|锄头|扁担|砖头|酒瓶|锤子|榔头|铁锤|扳手|木棒|气枪|弩|钢筋|橡胶棍|警棍|拖把杆"
    "|木板|板凳|凳子|椅子|灭火器|皮带"
)
_HOLD = (
    "拿|拿起|拿出|拿着|持|手持|举|举起|举着|挥|挥舞|挥着|提|提起|提着|拎着|掏出|抄起|操起"
    "|抡起|带着|带了|揣着|携带|握着|亮出|取出"
)
_POISON = "农药|敌敌畏|百草枯|老鼠药|鼠药|安眠药|毒药|除草剂"
_KIN = (
    "妻子|老婆|媳妇|丈夫|老公|孩子|儿子|女儿|儿媳|儿媳妇|女婿|母亲|父亲|老人|婆婆|公公"
    "|岳父|岳母|小儿子|大儿子|二儿子|继父|继母|哥哥|弟弟|姐姐|妹妹|其子|其夫|其妻"
    "|同居男友|同居女友"
)
_PERSON = "他|她|你|我|对方|他们|她们|全家|一家|邻居|男的|女的|" + _KIN
_DV_ACTS = (
    "打|打了|殴打|打伤|动手|推搡|推倒|推倒在地|推下|拳打脚踢|掐|掐住|施暴|打骂|踢打"
    "|扇|扇了|抽打|又打又骂"
)
_NUMBERS = (
    "十多|十几|十余|二十多|二十余|三十多|三十余|四十多|四十余|五十多|五十余|几十|数十"
    "|上百|近百|百余|一百多|几百|数百"
).split("|")
_MANY = "|".join(n + unit for n in _NUMBERS for unit in ("名", "户", "位", "个"))
_NOT_A_BLOW = "!电话|手机|招呼|官司|交道|工|零工|牌|麻将|针|疫苗|款|钱|欠条|报告|110|120"

# Red (R3): a dispute that may turn into a public-order or criminal case (防民转刑).
RED: dict[str, tuple[str, ...]] = {
    "self_harm_language": (
        "跳楼|跳河|跳江|跳湖|跳海|跳井|跳崖|跳桥|跳塘|跳水库|跳下去|投河|投江|投井|卧轨",
        "往下跳|跳了下去|纵身跳下|撞墙|以头撞墙|撞死在|抹脖子|绝食",
        "上吊|自缢|吊死|自杀|自尽|轻生|寻死|寻短见|想不开|寻死觅活|自残|自伤|自焚|烧炭",
        "服毒|喝农药|喝药|割腕|割脉|遗书|写好遗书|厌世|轻生念头|轻生的念头",
        "不想活|不想活了|不想再活|不活了|活够了|活不下去|活着没意思|活着太累|活得太累",
        "一死了之|死了算了|一了百了|去死|想死|死给你看|死给他看|死给他们看",
        "以死相逼|以死威胁|结束生命|结束自己的生命|自杀式讨薪",
        f"喝|喝了|喝下|灌|服|服用|吃|吃了|吞|吞了|吞服 + {_POISON}",
        f"准备|准备了|备好|备了|买来|藏着|带着|带了 + {_POISON}",
        f"拿|拿着|拎着|揣着|举着|抱着 + {_POISON}",
        f"{_POISON} + 喝|喝掉|喝下|吞|吞下",
        "吞|吞下|吞了|吃了|服下 +2 药片|大量药|一瓶药|整瓶药",
        "割|割伤|割破|划伤|划破|划 +1 手腕|腕|动脉|手腕处",
        "割|割伤|割破|划伤|划破|划|砍|砍伤|扎 + 自己 +2 手腕|腕|动脉|手臂|胳膊|身体",
        "手腕|动脉|手臂 +2 割破|割伤|割开|割|划破|划开",
        "爬上|爬到|站在|坐在|爬 + 楼顶|天台|塔吊|屋顶|楼顶上|桥栏|脚手架|高压塔|电线杆",
        "suicide|suicidal|self-harm|self harm|overdose|overdosed|suicide note",
        "kill myself|kill himself|kill herself|end my life|end his life|end her life",
        "take my own life|take his own life|take her own life|hang myself|hang himself",
        "wants to die|want to die|end it all|no reason to live|hurt herself|hurt himself",
        "cut her wrists|cut his wrists|jump off|jump from the|would jump|will jump",
        "threatened to jump",
        "climbed|climb|climbing|standing on|stood on + roof|rooftop|crane|bridge|ledge|tower",
        "took|swallowed|drank|drink|take + sleeping pills|pills|pesticide|poison",
    ),
    "die_together_language": (
        "同归于尽|一起死|一块死|一起去死|鱼死网破|你死我活|玉石俱焚|陪葬|垫背",
        "一命换一命|以命相搏|以命换命|一起下地狱",
        "谁也别想活|都别想活|别想活|都别活|跟他拼了|和他拼了|跟你拼了|拼了这条命|拼了这条老命",
        "跟|找|和他|和你|和对方|与他|与对方 +2 拼命|拼了",
        "die together|take them with me|take him with me|take her with me",
    ),
    "violence_language": (
        "杀人|杀死|杀掉|灭门|砍人|砍死|砍伤|追砍|捅人|捅死|捅伤|行凶|伤人|凶杀|非法拘禁",
        "打人|殴打|打伤|打死|打残|暴打|毒打|痛打|围殴|群殴|互殴|斗殴|打架|打群架|大打出手",
        "厮打|扭打|撕打|撕扯|推搡|推推搡搡|肢体冲突|动手|动手打|拳打脚踢|拳脚相加",
        "打耳光|扇耳光|掌掴|掐脖子|被打|挨打|打起来|打了起来|打砸|打砸抢|追打|暴揍",
        "抽打|鞭打|又打又骂|连打带骂|打骂|踢打|施暴|猛击|重击|击打|猛打|殴伤",
        "踢伤|拍伤|砸伤|砸破|砸向|抓伤|推倒在地|按在地上|围起来打|围着打",
        "打了人|杀了人|砍了人|捅了人|废了他|废了她|废了你|揍",
        "鼻青脸肿|头破血流|遍体鳞伤|轻微伤|轻伤|重伤|打成重伤|打成轻伤",
        "弄死|搞死|整死|报复|暴力|见血|血债血偿|要他的命|要了他的命|要你的命|要她的命",
        "放火|纵火|烧房子|投毒|下毒|泼硫酸|泼粪|绑架",
        f"杀|杀了|砍|砍了|捅|捅了 +1 {_PERSON}",
        f"打|打了|打过|扇|扇了|踢|踢了|踹|踹了 +1 {_PERSON} + {_NOT_A_BLOW}",
        f"被 +2 打|打了|殴打|打伤|砍|砍伤|捅|捅伤|踢伤|扎伤|推倒|推下 + {_NOT_A_BLOW}",
        f"把 + {_PERSON} +2 杀了|砍了|捅了|弄死|打死|废了|推倒",
        "扬言|威胁|声称|放话|叫嚣|说要|要 +2 杀|捅|弄死|烧死",
        "打|打了|揍|揍了|暴打|毒打 +1 一顿|顿",
        "扇|扇了|打|打了|抽|抽了 + 耳光|巴掌|嘴巴子",
        "掐|掐住|掐着 +2 脖子|喉咙|脖颈",
        "卸|卸了|打断|打折 +2 腿|胳膊|手|手脚|肋骨",
        "推下|推下了 + 楼梯|楼|河|水|井|悬崖",
        "砸中|砸到|砸在|打中|击中 +2 头|头部|脑袋|脸|身上|他|她",
        "打破|打破了|砸破|砸破了|打烂|打开花 +2 头|头部|脑袋|脑壳",
        "头|头部|脑袋 +1 打破|打破了|砸破|砸破了|打出血|打烂",
        "一把火|火烧|放火烧|烧了|烧掉|点了 + 房子|房屋|家|厂房|仓库|店|车",
        "把 +3 房子|房屋|家|厂房|仓库 +1 点了|烧了|烧掉|炸了|点着",
        "故意 +2 撞|撞人|撞伤|撞倒|撞向|碾压",
        "开车|驾车 + 撞伤|撞倒|撞向|撞 + 另一方|对方|他|她",
        "烟头|开水|热水 +1 烫|泼",
        "kill|killed|killing|murder|murdered|beat|beaten|beating|beat up|revenge",
        "attack|attacked|assault|assaulted|punch|punched|stab|stabbed",
        "violence|violent|fistfight|hit him|hit her|hurt him|hurt her",
        "burn|burned|burnt|set fire to|torch + house|home|flat|shop|car|down",
        "pushed|shoved|threw + down the stairs|off the|to the ground|into the",
    ),
    "weapon_language": (
        "持刀|拿刀|举刀|提刀|挥刀|动刀|动刀子|亮刀|管制刀具|匕首|凶器",
        "枪|枪支|猎枪|土枪|火药枪|炸药|雷管|炸弹|硫酸|汽油弹|燃烧瓶",
        f"{_HOLD} + {_CLUB}",
        f"用|拿 + {_CLUB} +2 砍|捅|刺|扎|划|拍|砸|打|劈|戳|敲|划伤|砍伤|刺伤|扎伤|捅伤|拍伤"
        "|砸伤 + !鸟|麻雀|狗|猫|老鼠|蛇|野兔|鸡|鸭|钉子|木桩",
        "泼|浇|倒|拎着|提着|带着|拿着|买了|扛着 + 汽油|柴油|煤油|硫酸|汽油桶|汽油瓶|柴油桶",
        "汽油|柴油|煤油 + 烧|点火|点燃|点着|同归于尽|自焚|泼",
        "gun|guns|firearm|shotgun|weapon|weapons|explosives|petrol bomb|acid attack",
        "with|holding|held|carrying|carried|pulled|pulling|waved|waving|brandished"
        "|brandishing|grabbed|wielding|armed with|swung|swinging|swing"
        " + knife|knives|machete|axe|hammer|bat|iron bar|cleaver",
        "pour|poured|pouring|doused|carrying|carried + petrol|gasoline",
    ),
    "domestic_violence_language": (
        "家暴|家庭暴力|虐待|不给饭吃|锁在屋里|关在屋里|锁在家里|关在家里",
        "打老婆|打妻子|打媳妇|打丈夫|打老公|打孩子|打老人|打父母",
        f"{_KIN}|男方|女方 + {_DV_ACTS} + {_NOT_A_BLOW}",
        "domestic violence|domestic abuse|abuse|abused|abusive",
        "husband|wife|partner|boyfriend|girlfriend|father|son|daughter-in-law"
        " + beat|beats|hit|hits|slapped|kicked|punched|choked",
    ),
}

# Yellow: threats, petitions and collective action short of R3.
YELLOW: dict[str, tuple[str, ...]] = {
    "threat_language": (
        "威胁|扬言|恐吓|要挟|叫嚣|放话|放狠话|狠话|不会放过|不放过|绝不放过|走着瞧|等着瞧",
        "小心点|出门小心|不得安宁|给你好看|要你好看|让他好看|吃不了兜着走",
        "找人收拾|收拾他|上门闹事|闹事|堵门",
        "threat|threats|threaten|threatened|threatening|intimidate|intimidated",
    ),
    "petition_language": (
        "上访|信访|信访局|信访办|越级上访|进京上访|集体上访|去北京|到北京",
        "堵路|拉横幅|打横幅|挂横幅|静坐|围堵|找媒体|媒体曝光|网上曝光",
        "petition|petitioned|protest|blockade|sit-in",
        "block the road|blocking the road|block the gate",
    ),
    "collective_language": (
        "集体|群体|群体性|联名|聚集|聚众|全体业主|全体员工|全体村民",
        "集体上访|集体讨薪|集体停工|集体罢工",
        "多名 +1 工人|农民工|村民|业主|员工|住户|居民",
        f"{_MANY} +1 工人|农民工|村民|业主|员工|职工|住户|居民|司机|家长|商户|学员|群众",
        "号召|召集|串联|纠集 +3 大家|业主|村民|工人|工友|员工|一起",
        "collective|class action|group of workers|all the workers|joint complaint",
        "joint petition|jointly|dozens of|several dozen|hundreds of",
    ),
}

# Words that hold a phrase but are no risk: the segmenter keeps them whole, so the phrase
# inside is not a word of the summary. (暴力拆迁, 暴力催收: the label alone is no act of
# violence; what is said about the acts, 殴打 or 威胁, is screened as such.)
DECOYS: tuple[str, ...] = (
    "杀猪|杀猪场|杀鸡|杀鸭|杀鱼|杀价|杀毒|杀虫|杀虫剂|杀菌|秒杀|抹杀",
    "砍价|砍伐|砍树|砍柴|跳楼价|跳楼机|跳槽|跳舞|跳绳|跳棋|起跳|跳河村|吊死鬼",
    "刀具店|刀具|刀削面|刀子嘴|开刀|剪刀手|枪手|水枪",
    "农药店|农药经营|农药残留|喷洒农药|打农药",
    "打工|打工者|打零工|打扫|打折|打印|打听|打算|打针|打卡|打包|打车|打电话|打官司",
    "打招呼|打交道|打理|打扰|打开|打井|打伞|打扮|打麻将|打牌|打款|打欠条|打击报复",
    "报复性消费|暴力拆迁|暴力催收|自杀式降价|自杀式营销|动手术|动手能力",
    "集体土地|村集体|集体经济|集体所有|集体户口|集体宿舍|集体资产|集体合同",
    "汽油费|汽油钱|柴油费|加汽油|汽油车|柴油车",
)

NEGATORS: tuple[str, ...] = (
    "没|没有|并没有|并没|未|并未|从未|从没|从没有|从来没有|从来没|未曾|不曾|没再",
    "不会|并不会|绝不会|决不会|并非|无",
    "not|never|no|didn't|doesn't|hasn't|wasn't|won't",
)
# Words allowed between a negator and the phrase it cancels (没有对其实施家暴): anything else,
# and any punctuation, ends the negator's reach. A list of what may stand there, rather
# than of what may not, so that a negator of another clause (没有工作不想活了) cancels nothing.
NEGATION_GAP = 3
NEGATION_FILLERS: tuple[str, ...] = (
    "有|再|再次|会|曾|曾经|过|对|向|和|与|跟|把|他|她|我|其|对其|对方|任何|真|真的",
    "实施|进行|发生|出现|过激|说|说过|表示|想|要|想要|打算|用|拿|动|直接|主动|故意",
    "当场|存在|涉及|为此|因此|去|来|人|妻子|丈夫|老婆|老公|孩子|老人|邻居|家人",
    "to|the|any|anyone|him|her|them|ever|physically|did|does|was|has|been|have|be",
)
