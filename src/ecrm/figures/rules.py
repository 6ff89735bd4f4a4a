"""What the derived figures mean, in one place.

- Orders count unless cancelled; returned and refunded orders still count as orders.
- ``revenue`` is the total of counted orders minus the amount of all returns (net).
- ``average_order_value`` is the total of counted orders divided by their number (gross).
- ``last_seen_at`` is the latest event or order time.
- distinct products and categories count product lines of counted orders.
- days since last order is measured at read time from ``last_order_at``.
"""

from __future__ import annotations

import datetime as dt


def days_since(moment: dt.datetime | None, now: dt.datetime) -> int | None:
    if moment is None:
        return None
    return max(0, (now - moment).days)
