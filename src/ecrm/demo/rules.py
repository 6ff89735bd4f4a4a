"""What the demo shop looks like: names, places, catalogue and the shopping calendar.

Pure data and pure functions, no ORM: ``generator.py`` draws from these tables.
Frequencies are rounded public figures (surname shares from the 2020 census,
province populations from the 7th census) so the demo reads like a real Chinese shop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# --- people ----------------------------------------------------------------------

# The hundred most common surnames, with their share of the population in per mille.
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 71.5),
    ("李", 70.0),
    ("张", 67.5),
    ("刘", 54.0),
    ("陈", 45.0),
    ("杨", 31.0),
    ("黄", 22.5),
    ("赵", 20.0),
    ("吴", 20.0),
    ("周", 19.0),
    ("徐", 17.0),
    ("孙", 15.5),
    ("马", 15.0),
    ("朱", 14.5),
    ("胡", 13.5),
    ("郭", 13.0),
    ("何", 12.0),
    ("林", 11.5),
    ("高", 11.5),
    ("罗", 11.0),
    ("郑", 10.5),
    ("梁", 10.0),
    ("谢", 8.5),
    ("宋", 8.0),
    ("唐", 8.0),
    ("许", 7.0),
    ("韩", 7.0),
    ("邓", 7.0),
    ("冯", 7.0),
    ("曹", 6.5),
    ("彭", 6.5),
    ("曾", 6.0),
    ("肖", 6.0),
    ("田", 5.5),
    ("董", 5.5),
    ("潘", 5.0),
    ("袁", 5.0),
    ("蔡", 5.0),
    ("蒋", 5.0),
    ("余", 5.0),
    ("于", 5.0),
    ("杜", 5.0),
    ("叶", 4.5),
    ("程", 4.5),
    ("魏", 4.5),
    ("苏", 4.5),
    ("吕", 4.5),
    ("丁", 4.5),
    ("任", 4.0),
    ("卢", 4.0),
    ("姚", 4.0),
    ("沈", 4.0),
    ("钟", 4.0),
    ("姜", 4.0),
    ("崔", 3.5),
    ("谭", 3.5),
    ("陆", 3.5),
    ("范", 3.5),
    ("汪", 3.5),
    ("廖", 3.5),
    ("石", 3.5),
    ("金", 3.5),
    ("韦", 3.0),
    ("贾", 3.0),
    ("夏", 3.0),
    ("付", 3.0),
    ("方", 3.0),
    ("邹", 2.5),
    ("熊", 2.5),
    ("白", 2.5),
    ("孟", 2.5),
    ("秦", 2.5),
    ("邱", 2.5),
    ("侯", 2.5),
    ("江", 2.5),
    ("尹", 2.5),
    ("薛", 2.0),
    ("闫", 2.0),
    ("段", 2.0),
    ("雷", 2.0),
    ("龙", 2.0),
    ("黎", 2.0),
    ("史", 2.0),
    ("陶", 2.0),
    ("贺", 2.0),
    ("毛", 2.0),
    ("郝", 2.0),
    ("顾", 2.0),
    ("龚", 1.5),
    ("邵", 1.5),
    ("万", 1.5),
    ("覃", 1.5),
    ("武", 1.5),
    ("钱", 1.5),
    ("戴", 1.5),
    ("严", 1.5),
    ("欧阳", 0.6),
    ("上官", 0.1),
    ("司马", 0.1),
    ("诸葛", 0.1),
)

GIVEN_FEMALE = tuple(
    "芳娜敏静丽艳娟霞秀玲婷雪慧颖琳洁倩璐悦欣怡佳琪梦瑶晨思雨涵萱妍彤嘉宁诗月婉蓉红梅兰凤"
)
GIVEN_MALE = tuple(
    "伟强磊军勇杰涛斌超明辉刚健鹏浩宇轩博文俊峰亮波鑫晨阳昊然睿泽凯翔志海东林飞宏建华"
)
GIVEN_SHARED = tuple("子一晓梓嘉明文思雨欣宇新天佳")
# Share of people with a one-character given name (张伟 rather than 张伟杰).
SINGLE_GIVEN_SHARE = 0.3

# Province, population in millions, and a few of its cities (capital first).
PROVINCES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("广东省", 126.0, ("广州市", "深圳市", "东莞市", "佛山市", "珠海市", "汕头市")),
    ("山东省", 101.5, ("济南市", "青岛市", "烟台市", "潍坊市", "临沂市")),
    ("河南省", 99.4, ("郑州市", "洛阳市", "南阳市", "新乡市")),
    ("江苏省", 84.7, ("南京市", "苏州市", "无锡市", "常州市", "南通市", "徐州市")),
    ("四川省", 83.7, ("成都市", "绵阳市", "宜宾市", "南充市")),
    ("河北省", 74.6, ("石家庄市", "唐山市", "保定市", "邯郸市")),
    ("湖南省", 66.4, ("长沙市", "株洲市", "衡阳市", "岳阳市")),
    ("浙江省", 64.6, ("杭州市", "宁波市", "温州市", "绍兴市", "金华市", "嘉兴市")),
    ("安徽省", 61.0, ("合肥市", "芜湖市", "蚌埠市", "安庆市")),
    ("湖北省", 57.8, ("武汉市", "宜昌市", "襄阳市", "荆州市")),
    ("广西壮族自治区", 50.1, ("南宁市", "柳州市", "桂林市")),
    ("云南省", 47.2, ("昆明市", "大理市", "曲靖市")),
    ("江西省", 45.2, ("南昌市", "赣州市", "九江市")),
    ("辽宁省", 42.6, ("沈阳市", "大连市", "鞍山市")),
    ("福建省", 41.5, ("福州市", "厦门市", "泉州市", "漳州市")),
    ("陕西省", 39.5, ("西安市", "宝鸡市", "咸阳市")),
    ("贵州省", 38.6, ("贵阳市", "遵义市")),
    ("山西省", 34.9, ("太原市", "大同市", "运城市")),
    ("重庆市", 32.1, ("重庆市",)),
    ("黑龙江省", 31.9, ("哈尔滨市", "大庆市", "齐齐哈尔市")),
    ("新疆维吾尔自治区", 25.9, ("乌鲁木齐市", "喀什市")),
    ("上海市", 24.9, ("上海市",)),
    ("甘肃省", 25.0, ("兰州市", "天水市")),
    ("内蒙古自治区", 24.0, ("呼和浩特市", "包头市")),
    ("吉林省", 24.1, ("长春市", "吉林市")),
    ("北京市", 21.9, ("北京市",)),
    ("天津市", 13.9, ("天津市",)),
    ("海南省", 10.1, ("海口市", "三亚市")),
    ("宁夏回族自治区", 7.2, ("银川市",)),
    ("青海省", 5.9, ("西宁市",)),
    ("西藏自治区", 3.6, ("拉萨市",)),
)

# Mobile number blocks of China Mobile, China Unicom, China Telecom and China Broadnet
# that libphonenumber accepts in full (every 8-digit tail is a valid number).
MOBILE_PREFIXES: tuple[str, ...] = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "193",
    "195",
    "196",
    "197",
    "198",
    "199",
)

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("qq.com", 45.0),
    ("163.com", 22.0),
    ("126.com", 8.0),
    ("sina.com", 4.0),
    ("foxmail.com", 5.0),
    ("outlook.com", 6.0),
    ("gmail.com", 4.0),
    ("icloud.com", 6.0),
)
EMAIL_SHARE = 0.45

# Registration channels (app, 微信小程序, website, 门店 store) and their shares.
REGISTRATION_CHANNELS: tuple[tuple[str, float], ...] = (
    ("app", 0.38),
    ("wechat_miniprogram", 0.32),
    ("web", 0.18),
    ("store", 0.12),
)

# --- catalogue -------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """A leaf category with its brands, product nouns and price range in CNY."""

    path: str
    brands: tuple[str, ...]
    nouns: tuple[str, ...]
    price_min: int
    price_max: int
    weight: float  # share of demand
    max_quantity: int = 1


CATALOGUE: tuple[Leaf, ...] = (
    Leaf(
        "家电/冰箱",
        ("海尔", "美的", "容声", "西门子"),
        ("对开门冰箱", "三门冰箱", "十字门冰箱"),
        1599,
        8999,
        2.0,
    ),
    Leaf(
        "家电/洗衣机",
        ("海尔", "小天鹅", "美的", "松下"),
        ("滚筒洗衣机", "波轮洗衣机", "洗烘一体机"),
        999,
        5999,
        2.0,
    ),
    Leaf(
        "家电/空调",
        ("格力", "美的", "海尔", "奥克斯"),
        ("变频挂机", "立式柜机", "新风空调"),
        1899,
        7999,
        2.0,
    ),
    Leaf(
        "家电/厨房电器",
        ("美的", "九阳", "苏泊尔", "小熊"),
        ("电饭煲", "破壁机", "空气炸锅", "电水壶"),
        99,
        899,
        4.0,
    ),
    Leaf(
        "数码/手机",
        ("华为", "小米", "苹果", "OPPO", "vivo", "荣耀"),
        ("5G手机", "折叠屏手机", "拍照手机"),
        999,
        9999,
        5.0,
    ),
    Leaf(
        "数码/笔记本电脑",
        ("联想", "华为", "苹果", "戴尔"),
        ("轻薄本", "游戏本", "商务本"),
        3499,
        12999,
        2.0,
    ),
    Leaf(
        "数码/耳机",
        ("华为", "小米", "漫步者", "索尼"),
        ("真无线耳机", "降噪耳机", "运动耳机"),
        99,
        1999,
        4.0,
    ),
    Leaf(
        "数码/平板电脑", ("华为", "小米", "苹果", "联想"), ("平板电脑", "学习平板"), 999, 6999, 2.0
    ),
    Leaf(
        "服饰/女装",
        ("优衣库", "太平鸟", "ONLY", "欧时力"),
        ("连衣裙", "针织开衫", "羽绒服", "阔腿裤"),
        79,
        899,
        9.0,
        2,
    ),
    Leaf(
        "服饰/男装",
        ("优衣库", "海澜之家", "李宁", "太平鸟"),
        ("衬衫", "休闲裤", "夹克", "羽绒服"),
        79,
        999,
        6.0,
        2,
    ),
    Leaf(
        "服饰/运动鞋",
        ("李宁", "安踏", "耐克", "阿迪达斯", "特步"),
        ("跑步鞋", "篮球鞋", "板鞋"),
        199,
        1299,
        5.0,
    ),
    Leaf(
        "美妆/护肤",
        ("百雀羚", "自然堂", "珀莱雅", "兰蔻", "雅诗兰黛"),
        ("精华液", "面霜", "爽肤水", "面膜"),
        59,
        1599,
        8.0,
        3,
    ),
    Leaf(
        "美妆/彩妆",
        ("完美日记", "花西子", "MAC", "迪奥"),
        ("口红", "粉底液", "眼影盘"),
        59,
        499,
        5.0,
        2,
    ),
    Leaf(
        "食品/零食",
        ("三只松鼠", "良品铺子", "百草味", "卫龙"),
        ("坚果礼盒", "牛肉干", "辣条", "饼干"),
        9,
        199,
        10.0,
        5,
    ),
    Leaf(
        "食品/茶叶",
        ("中茶", "八马", "大益", "竹叶青"),
        ("龙井", "普洱茶饼", "铁观音", "红茶礼盒"),
        59,
        999,
        3.0,
        3,
    ),
    Leaf(
        "食品/生鲜",
        ("盒马", "褚橙", "佳沛", "獐子岛"),
        ("车厘子", "脐橙", "猕猴桃", "大闸蟹"),
        29,
        399,
        5.0,
        3,
    ),
    Leaf(
        "母婴/奶粉",
        ("飞鹤", "君乐宝", "爱他美", "惠氏"),
        ("婴儿奶粉3段", "婴儿奶粉2段", "儿童成长奶粉"),
        159,
        499,
        4.0,
        4,
    ),
    Leaf(
        "母婴/纸尿裤",
        ("帮宝适", "好奇", "花王", "大王"),
        ("纸尿裤L码", "拉拉裤XL码", "纸尿裤M码"),
        59,
        199,
        4.0,
        4,
    ),
    Leaf("母婴/玩具", ("乐高", "费雪", "贝恩施"), ("积木", "早教玩具", "遥控车"), 49, 999, 3.0),
    Leaf(
        "家居/床品",
        ("罗莱", "富安娜", "水星家纺"),
        ("四件套", "羽绒被", "乳胶枕"),
        99,
        1599,
        3.0,
        2,
    ),
    Leaf(
        "家居/厨具", ("苏泊尔", "双立人", "爱仕达"), ("不粘锅", "刀具套装", "保温杯"), 49, 999, 3.0
    ),
    Leaf(
        "图书/童书",
        ("中信出版", "人民文学", "接力出版"),
        ("绘本套装", "科普百科", "儿童故事"),
        19,
        299,
        3.0,
        3,
    ),
    Leaf(
        "图书/小说",
        ("人民文学", "译林出版", "上海译文"),
        ("长篇小说", "科幻小说", "悬疑小说"),
        19,
        129,
        3.0,
        3,
    ),
)
VARIANTS = ("", "标准版", "尊享版", "2024新款", "2025新款", "礼盒装", "家庭装", "旗舰款")


def product_count(customers: int) -> int:
    """A shop's catalogue grows with its customer base, slowly."""
    return min(5000, 300 + customers // 500)


# --- orders ----------------------------------------------------------------------

ORDER_CHANNELS: tuple[str, ...] = ("app", "wechat_miniprogram", "web", "store")
STORES: tuple[str, ...] = (
    "上海南京西路店",
    "北京三里屯店",
    "广州天河城店",
    "深圳万象城店",
    "杭州湖滨银泰店",
    "成都春熙路店",
    "南京新街口店",
    "武汉楚河汉街店",
)
# Two sales clerks per store, in the order of STORES: the shop's employee codes (clerks have
# no console login), recorded as the order's employee.
STORE_CLERKS: tuple[str, ...] = (
    "SH01-周杰", "SH02-林静",
    "BJ01-王磊", "BJ02-刘洋",
    "GZ01-陈晓", "GZ02-黄敏",
    "SZ01-吴昊", "SZ02-郑丽",
    "HZ01-孙悦", "HZ02-朱婷",
    "CD01-何勇", "CD02-高娟",
    "NJ01-马超", "NJ02-罗琳",
    "WH01-梁斌", "WH02-宋佳",
)  # fmt: skip
# One online order in ONLINE_ASSISTED_EVERY was closed by the sales rep in a chat.
ONLINE_ASSISTED_EVERY = 10
ONLINE_DEPARTMENT = "电商事业部"
STORE_DEPARTMENT = "零售门店部"
FREE_SHIPPING_FROM = 99_00  # in fen
SHIPPING_FEE = 8_00
RETURN_REASONS = ("尺码不合适", "质量问题", "与描述不符", "不想要了", "发错货", "物流太慢")
# Staff accounts of the demo: username, role, department code and name, display name.
STAFF: tuple[tuple[str, str, str, str, str], ...] = (
    ("admin", "admin", "hq", "总部管理部", "系统管理员"),
    ("marketer", "marketer", "marketing", "市场部", "李梦瑶"),
    ("service", "service_agent", "service", "客户服务部", "王晓静"),
    ("sales", "sales_rep", "sales", "销售部", "张伟"),
    ("analyst", "analyst", "analytics", "数据分析部", "陈思远"),
)
STAFF_PASSWORD = "ecrm-demo"

CONTACT_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("phone", "in", "来电咨询订单物流进度，已告知预计送达时间"),
    ("chat", "in", "在线咨询商品尺码，已推荐合适规格"),
    ("wechat", "in", "微信反馈商品有瑕疵，已安排换货"),
    ("phone", "out", "售后回访：对购物体验满意"),
    ("sms", "out", "发送会员生日优惠券"),
    ("email", "out", "发送双十一预售活动邀请"),
    ("chat", "in", "申请退货退款，已审核通过"),
    ("phone", "out", "邀请参加门店会员日活动"),
    ("visit", "in", "到店试用新品，登记为重点客户"),
    ("wechat", "out", "推送618会员专享价"),
)


# --- calendar --------------------------------------------------------------------

# 春节 (the first day of the lunar new year) by Gregorian date.
SPRING_FESTIVAL = {
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
}
WEEKDAY_FACTOR = (0.92, 0.92, 0.95, 0.97, 1.02, 1.12, 1.10)  # Monday first
# Local hour of day shares: quiet nights, a lunch bump, the evening peak.
HOUR_WEIGHTS = (
    1.2,
    0.6,
    0.3,
    0.2,
    0.2,
    0.3,
    0.8,
    1.6,
    2.8,
    3.8,
    4.6,
    4.8,
    4.4,
    4.2,
    4.3,
    4.4,
    4.4,
    4.5,
    4.9,
    5.8,
    6.8,
    7.2,
    6.4,
    3.6,
)
# 双十一 starts at midnight: most of the day's orders land in its first hours.
SINGLES_DAY_HOUR_WEIGHTS = (
    30.0,
    14.0,
    5.0,
    2.0,
    1.0,
    1.0,
    1.5,
    2.5,
    3.5,
    4.0,
    4.5,
    4.5,
    4.3,
    4.0,
    4.0,
    4.0,
    4.0,
    4.2,
    4.8,
    5.5,
    6.5,
    7.0,
    7.5,
    9.0,
)


def day_weight(day: dt.date) -> float:
    """Relative order volume of a calendar day in the shop's (China's) time zone."""
    weight = WEEKDAY_FACTOR[day.weekday()]
    m, d = day.month, day.day
    if m == 11:
        if d == 11:
            weight *= 9.0  # 双十一
        elif 1 <= d <= 10:
            weight *= 1.6 if d < 10 else 2.6  # pre-sale, last-day rush
        elif d == 12:
            weight *= 1.5
        elif d >= 20:
            weight *= 0.85  # the lull after
    elif m == 6:
        if d == 18:
            weight *= 5.5  # 618
        elif 1 <= d < 18:
            weight *= 1.35
        elif d < 21:
            weight *= 1.2
    elif m == 12 and d == 12:
        weight *= 2.2  # 双十二
    festival = SPRING_FESTIVAL.get(day.year if m < 4 else day.year + 1)
    if festival is not None:
        offset = (day - festival).days
        if -25 <= offset <= -8:
            weight *= 1.45  # 年货节: stocking up before the holiday
        elif -7 <= offset <= -1:
            weight *= 0.6  # couriers stop, people travel home
        elif 0 <= offset <= 7:
            weight *= 0.35  # the holiday itself
        elif 8 <= offset <= 14:
            weight *= 0.8
    return weight


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
