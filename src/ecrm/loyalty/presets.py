"""The demo shop's programme, as data: what a marketer would set up in the console."""

from __future__ import annotations

DEMO_SETTINGS = {
    "join": "first_order",
    "earn_on": "paid",
    "point_value": "0.01",
    "expiry_days": 365,
    "expiring_soon_days": 30,
    "tier_metric": "spend",
    "tier_window_days": 365,
    "tier_grace_days": 30,
    "special_label": "模范会员",
    "max_redeem_percent": 50,
    "min_redeem_points": 100,
    "festivals": [
        {"code": "double11", "name": "双十一", "days": ["11-11"]},
        {"code": "d618", "name": "618", "days": ["06-18"]},
        {"code": "double12", "name": "双十二", "days": ["12-12"]},
        {
            "code": "spring",
            "name": "春节",
            "days": [
                "2024-02-10..2024-02-17",
                "2025-01-29..2025-02-05",
                "2026-02-17..2026-02-24",
                "2027-02-06..2027-02-13",
            ],
        },
    ],
    "event_names": {
        "review_written": ["Product Reviewed", "Review Written"],
        "daily_sign_in": ["Signed In", "Daily Check-in"],
        "survey_answered": ["Survey Answered", "Survey Completed"],
        "activity_joined": ["Activity Joined", "Campaign Joined"],
        "referral": ["Referral Completed"],
    },
}

DEMO_TIERS = [
    {"code": "member", "name": "普通会员", "threshold": 0, "description": "消费1元得1分"},
    {
        "code": "silver",
        "name": "银卡",
        "threshold": 2000,
        "multiplier": "1.2",
        "discount_percent": 2,
        "description": "积分1.2倍,全场98折",
    },
    {
        "code": "gold",
        "name": "金卡",
        "threshold": 8000,
        "multiplier": "1.5",
        "discount_percent": 5,
        "description": "积分1.5倍,全场95折,生日礼",
    },
    {
        "code": "diamond",
        "name": "钻石",
        "threshold": 20000,
        "multiplier": "2",
        "discount_percent": 8,
        "description": "积分2倍,全场92折,专属客服",
    },
]

V = 1
ORDER = "order_completed"

DEMO_RULES: list[tuple[str, str, dict]] = [
    (
        "消费积分",
        "每消费1元得1分(按订单实付金额)。",
        {"version": V, "event": ORDER, "award": {"type": "per_amount", "points": 1, "per": 1}},
    ),
    (
        "双十一双倍积分",
        "双十一当天下单,消费积分翻倍。与618活动同组,只取一个。",
        {
            "version": V,
            "event": ORDER,
            "when": {"festivals": ["double11"]},
            "award": {"type": "multiplier", "factor": 2},
            "priority": 50,
            "group": "festival",
        },
    ),
    (
        "618 积分1.5倍",
        "618 当天下单,消费积分1.5倍。",
        {
            "version": V,
            "event": ORDER,
            "when": {"festivals": ["d618"]},
            "award": {"type": "multiplier", "factor": "1.5"},
            "priority": 40,
            "group": "festival",
        },
    ),
    (
        "生日月双倍积分",
        "会员生日当月下单,消费积分翻倍,每年最多加赠2000分。",
        {
            "version": V,
            "event": ORDER,
            "when": {"birthday_month": True},
            "award": {"type": "multiplier", "factor": 2},
            "cap": {"points": 2000, "period": "year"},
            "priority": 30,
        },
    ),
    (
        "首单奖励",
        "会员第一笔订单额外奖励200分。",
        {
            "version": V,
            "event": ORDER,
            "when": {"nth_order": {"n": 1, "period": "ever"}},
            "award": {"type": "fixed", "points": 200},
            "priority": 20,
        },
    ),
    (
        "当月第三单奖励",
        "同一个月内的第3笔订单,额外奖励100分。",
        {
            "version": V,
            "event": ORDER,
            "when": {"nth_order": {"n": 3, "period": "month"}},
            "award": {"type": "fixed", "points": 100},
            "priority": 20,
        },
    ),
    (
        "大单奖励",
        "单笔订单满1000元,额外奖励300分。",
        {
            "version": V,
            "event": ORDER,
            "when": {"amount": {"min": 1000}, "currencies": ["CNY"]},
            "award": {"type": "fixed", "points": 300},
            "priority": 10,
        },
    ),
    (
        "模范会员加赠",
        "模范会员每笔订单的消费积分再加50%。",
        {
            "version": V,
            "event": ORDER,
            "when": {"special": True},
            "award": {"type": "multiplier", "factor": "1.5"},
            "priority": 25,
        },
    ),
    (
        "老会员感恩",
        "入会满3年的会员,每笔订单加赠50分,每月最多500分。",
        {
            "version": V,
            "event": ORDER,
            "when": {"tenure_years": {"min": 3}},
            "award": {"type": "fixed", "points": 50},
            "cap": {"points": 500, "period": "month"},
            "priority": 10,
        },
    ),
    (
        "母婴品类加倍",
        "母婴类商品每消费1元再得1分。",
        {
            "version": V,
            "event": ORDER,
            "when": {"categories": ["母婴"]},
            "award": {"type": "per_amount", "points": 1, "per": 1, "basis": "matching_lines"},
            "priority": 5,
        },
    ),
    (
        "写评价得积分",
        "每写一条商品评价得20分,每月最多200分。",
        {
            "version": V,
            "event": "review_written",
            "award": {"type": "fixed", "points": 20},
            "cap": {"points": 200, "period": "month"},
        },
    ),
    (
        "每日签到",
        "每天签到得5分,一天只算一次。",
        {
            "version": V,
            "event": "daily_sign_in",
            "award": {"type": "fixed", "points": 5},
            "cap": {"points": 5, "period": "day"},
        },
    ),
    (
        "问卷调查",
        "完成一份问卷得50分。",
        {"version": V, "event": "survey_answered", "award": {"type": "fixed", "points": 50}},
    ),
    (
        "参加活动",
        "参加会员活动得30分,每月最多90分。",
        {
            "version": V,
            "event": "activity_joined",
            "award": {"type": "fixed", "points": 30},
            "cap": {"points": 90, "period": "month"},
        },
    ),
    (
        "推荐好友",
        "推荐的好友完成注册并下单,推荐人得500分。",
        {"version": V, "event": "referral", "award": {"type": "fixed", "points": 500}},
    ),
]
