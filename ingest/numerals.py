"""Chinese numerals for article, chapter and section ids: 第27条 is cited as 第二十七条."""

from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
_VALUES = {char: value for value, char in enumerate(DIGITS)} | {"〇": 0, "两": 2}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_STRUCTURE_ID = re.compile(r"^第([一二三四五六七八九十百千零〇两\d]+)([条章节款项])(.*)$")


def chinese_number(number: int) -> str:
    """1 → 一, 10 → 十, 27 → 二十七, 105 → 一百零五, 110 → 一百一十 (0 < number < 10000)."""
    if not 0 < number < 10000:
        return str(number)
    text = ""
    pending_zero = False
    for unit_value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, number = divmod(number, unit_value)
        if digit:
            if pending_zero:
                text += "零"
            text += DIGITS[digit] + unit
            pending_zero = False
        elif text:
            pending_zero = True
    return text[1:] if text.startswith("一十") else text


def parse_number(text: str) -> int | None:
    """二十七 → 27, 一百零五 → 105, 十 → 10, "27" → 27; None for anything else."""
    if text.isdigit():
        return int(text)
    total, digit = 0, None
    for char in text:
        if char in _VALUES:
            digit = _VALUES[char]
        elif char in _UNITS:
            total += (1 if digit is None else digit) * _UNITS[char]
            digit = None
        else:
            return None
    return total + (digit or 0) if text else None


def normalise_structure_id(text: str) -> str:
    """第27条 → 第二十七条, 第3章 → 第三章; ids already in Chinese numerals are kept as written."""
    match = _STRUCTURE_ID.match(text)
    if not match or not match.group(1).isdigit():
        return text
    return f"第{chinese_number(int(match.group(1)))}{match.group(2)}{match.group(3)}"
