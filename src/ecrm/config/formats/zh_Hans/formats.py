"""Number formats of the Chinese console, over Django's own zh_Hans formats.

Django groups Chinese numbers by four digits with no separator, so ¥10,002,043.26 read
"10002043.26". Chinese shops, banks and payment apps write amounts and counts with a comma
every three digits, as the charts (``toLocaleString("zh-CN")``) already do. Only these
names are set here; dates and the rest come from Django's module.
"""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
