"""Regular-expression fragments shared by the modules that rewrite or scan dates.

Pure constants, no groups that capture: ``MONTH`` is a month number 1-12 (a leading zero allowed),
``DAY`` a day of the month 1-31. Patterns wrap them in their own groups and look-arounds.
"""

from __future__ import annotations

MONTH = r"(?:1[0-2]|0?[1-9])"
DAY = r"(?:3[01]|[12]\d|0?[1-9])"
# Two digits each, as padded dotted and compact dates write them ("09.30", "20250317").
MONTH2 = r"(?:0[1-9]|1[0-2])"
DAY2 = r"(?:0[1-9]|[12]\d|3[01])"
