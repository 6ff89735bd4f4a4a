"""Currency codes: the one rule every path that stores a currency applies (the tracking API,
the JSON API, imports, loyalty rules, promotions, settings).

Three letters were enough before, so a typo such as ``CYN``, or ``RMB`` for the yuan, went
in and split every revenue figure by currency. A code is now one that ISO 4217 names for
money a shop may take: the current codes, and the withdrawn ones old exports still carry
(the euro's predecessors, for a shop importing its 1990s orders). Fund, metal and test
codes (``CLF``, ``XAU``, ``XTS``) are not money a customer pays in.
"""

from __future__ import annotations

_CURRENT = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES
    KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU
    MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON
    RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
    TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR
    ZMW ZWG
"""
_FORMER = """
    ANG ATS BEF BYR CUC CYP DEM EEK ESP FIM FRF GRD HRK IEP ITL LTL LUF LVL MRO MTL NLG PTE
    SIT SKK SLL STD VEF ZWL
"""
CURRENT = frozenset(_CURRENT.split())
FORMER = frozenset(_FORMER.split())
CODES = CURRENT | FORMER
# What Chinese shops' own exports write for the yuan.
ALIASES = {"RMB": "CNY", "人民币": "CNY"}

# Translated in ecrm/locale; plain text here, as the settings (``config.env``) read this
# module before Django is set up.
NOT_A_CURRENCY = "%(value)s is not an ISO 4217 currency code such as CNY"


def iso_code(raw) -> str | None:
    """The code ``raw`` names, in capitals (``" cny "`` and ``"RMB"`` → ``"CNY"``), or None
    when it names none (``"CYN"``, ``"元"``, a number)."""
    if not isinstance(raw, str):
        return None
    code = raw.strip().upper()
    code = ALIASES.get(code, code)
    return code if code in CODES else None
