"""Standard numbers: parsing, canonical forms, and finding numbers in free text."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.errors import StandardNumberError
from knowledge.standard_numbers import (
    INDUSTRY_CODES,
    PROVINCE_CODES,
    StandardNumber,
    find_standard_numbers,
    normalize_standard_number,
    parse_standard_number,
)

# Surface forms seen in questions, documents and catalogues, with the canonical form they must give.
REAL_FORMS = [
    ("GB/T 19001-2016", "GB/T 19001-2016"),
    ("GB/T 19001—2016", "GB/T 19001-2016"),
    ("GB/T19001-2016", "GB/T 19001-2016"),
    ("GBT19001", "GB/T 19001"),
    ("gbt19001-2016", "GB/T 19001-2016"),
    ("yyt1469-2025", "YY/T 1469-2025"),
    ("ＧＢ／Ｔ１９００１－２０１６", "GB/T 19001-2016"),
    ("GB／T 19001－2016", "GB/T 19001-2016"),
    ("GB/T 42061-2022", "GB/T 42061-2022"),
    ("GB 9706.1-2020", "GB 9706.1-2020"),
    ("GB 9706.271-2022", "GB 9706.271-2022"),
    ("GB/Z 42217-2022", "GB/Z 42217-2022"),
    ("GB/Z 130-2025", "GB/Z 130-2025"),
    ("YY 9706.102-2021", "YY 9706.102-2021"),
    ("YY/T 0606.15-2023", "YY/T 0606.15-2023"),
    ("YY 0068.1-2008", "YY 0068.1-2008"),
    ("YY/T 0450.2-2003", "YY/T 0450.2-2003"),
    ("GB/T 16886.5-2017", "GB/T 16886.5-2017"),
    ("GB/T 16886.7", "GB/T 16886.7"),
    ("GB 55001-2021", "GB 55001-2021"),
    ("GB 50016-2014(2018年版)", "GB 50016-2014(2018年版)"),
    ("GB 50016-2014（2018年版）", "GB 50016-2014(2018年版)"),
    ("GB/T 50034-2024", "GB/T 50034-2024"),
    ("JGJ/T 67-2019", "JGJ/T 67-2019"),
    ("JGJ 3-2010", "JGJ 3-2010"),
    ("GB 5009.3-85", "GB 5009.3-1985"),
    ("GB 2760—2014", "GB 2760-2014"),
    ("GB 4806.1–2016", "GB 4806.1-2016"),
    ("GB/T 1.1-2020", "GB/T 1.1-2020"),
    ("GBZ 2.1-2019", "GBZ 2.1-2019"),
    ("JJF 1059.1-2012", "JJF 1059.1-2012"),
    ("JJG 1036-2008", "JJG 1036-2008"),
    ("HJ 2.2-2018", "HJ 2.2-2018"),
    ("DL/T 860.1-2018", "DL/T 860.1-2018"),
    ("TSG 21-2016", "TSG 21-2016"),
    ("DB11/T 1234-2020", "DB11/T 1234-2020"),
    ("db11t1234-2020", "DB11/T 1234-2020"),
    ("DB31/ 329.1-2019", "DB31/ 329.1-2019"),
    ("DB4403/T 12-2020", "DB4403/T 12-2020"),
    ("T/CSAE 123-2021", "T/CSAE 123-2021"),
    ("t/csae 123—2021", "T/CSAE 123-2021"),
    ("Q/GDW 1168-2013", "Q/GDW 1168-2013"),
    ("Q/JYSP 0001S-2020", "Q/JYSP 0001S-2020"),
    ("ISO 9001:2015", "ISO 9001:2015"),
    ("iso9001-2015", "ISO 9001:2015"),
    ("ISO 13485", "ISO 13485"),
    ("ISO 10993-1:2018", "ISO 10993-1:2018"),
    ("ISO/IEC 17025:2017", "ISO/IEC 17025:2017"),
    ("ISO/IEC 27001：2022", "ISO/IEC 27001:2022"),
    ("IEC 60601-1:2005", "IEC 60601-1:2005"),
    ("IEC 60601-1-2:2014", "IEC 60601-1-2:2014"),
    ("IEC 60601-1:2005+A2:2020", "IEC 60601-1:2005+A2:2020"),
    ("IEC 62304:2006+A1:2015", "IEC 62304:2006+A1:2015"),
    ("ISO 9001:2015/Amd 1:2024", "ISO 9001:2015/Amd 1:2024"),
    ("ISO/TS 16949:2009", "ISO/TS 16949:2009"),
    ("ISO TR 24971:2020", "ISO/TR 24971:2020"),
    ("ISO/IEC Guide 98-3:2008", "ISO/IEC Guide 98-3:2008"),
    ("EN ISO 13485:2016", "EN ISO 13485:2016"),
    ("ASTM D638-14", "ASTM D638-14"),
    ("astm f2100-19", "ASTM F2100-19"),
    ("ASTM E84-19a", "ASTM E84-19a"),
    ("API 5L", "API 5L"),
]

# Ordinary text that holds no standard number.
NEGATIVES = [
    "第二十七条",
    "2016年",
    "13800138000",
    "GB",
    "2TB硬盘",
    "硬盘 1 TB 2016 年买的",
    "ISO认证怎么办",
    "Bug 123",
    "API key",
    "调用API 3次",
    "T5模型",
    "Q3 2024",
    "Q/A 123",
    "DB99/T 123-2020",
    "2024-05-01",
    "内存8 GB 2016年的电脑",
    "MH370航班",
    "HS 8471 商品编码",
    "en 2020",
    "GB 2016年",
    "股票SH600519",
    "GPT-4 和 iPhone 15",
]


@pytest.mark.parametrize(("text", "canonical"), REAL_FORMS)
def test_real_forms_parse_to_canonical(text: str, canonical: str) -> None:
    assert parse_standard_number(text).canonical == canonical
    assert normalize_standard_number(text) == canonical


@pytest.mark.parametrize(("text", "canonical"), REAL_FORMS)
def test_real_forms_are_found_inside_chinese_sentences(text: str, canonical: str) -> None:
    sentence = f"请问{text}现在还有效吗？"
    found = find_standard_numbers(sentence)
    assert [m.number.canonical for m in found] == [canonical]
    assert sentence[found[0].start : found[0].end] == text


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_has_no_numbers(text: str) -> None:
    assert find_standard_numbers(text) == []


@pytest.mark.parametrize(
    "text", ["", "GB", "第二十七条", "GB/T 19001-2016 和 GB 2760", "DB/15-2009", "ISO认证"]
)
def test_parse_rejects_what_is_not_exactly_one_number(text: str) -> None:
    with pytest.raises(StandardNumberError) as info:
        parse_standard_number(text)
    message = str(info.value)
    assert message.startswith("无法识别的标准编号")
    assert repr(text) in message
    assert normalize_standard_number(text) is None


def test_questions_from_the_hotline() -> None:
    cases = {
        "GB/T 19001-2016还有效吗": ["GB/T 19001-2016"],
        "请问gbt19001现行版本是哪个": ["GB/T 19001"],
        "yyt1469-2025什么时候实施": ["YY/T 1469-2025"],
        "ISO 13485对应的国标": ["ISO 13485"],
        "GB/T 19001—2016/ISO 9001:2015 质量管理体系 要求": ["GB/T 19001-2016", "ISO 9001:2015"],
        "依据第二十七条，GB 2760和GB 14880都要看": ["GB 2760", "GB 14880"],
        "ISO9001年审需要什么材料": ["ISO 9001"],
    }
    for text, expected in cases.items():
        assert [m.number.canonical for m in find_standard_numbers(text)] == expected, text


def test_offsets_point_into_the_original_text_after_expanding_characters() -> None:
    text = "①㎏包装按ＧＢ／Ｔ　１９１９１—２０１９执行"
    [match] = find_standard_numbers(text)
    assert match.number.canonical == "GB/T 19191-2019"
    assert text[match.start : match.end] == "ＧＢ／Ｔ　１９１９１—２０１９"


def test_weak_industry_codes_need_a_year_or_a_T_in_free_text() -> None:
    assert find_standard_numbers("MT 5 和 NY 10001") == []
    assert [m.number.canonical for m in find_standard_numbers("执行NY/T 391-2021")] == ["NY/T 391-2021"]
    assert [m.number.canonical for m in find_standard_numbers("执行NY 5001-2007")] == ["NY 5001-2007"]
    # a whole string that is one number is trusted even without year
    assert parse_standard_number("NY 5001").canonical == "NY 5001"


def test_fields_key_and_kind() -> None:
    n = parse_standard_number("GB/T 16886.1—2022")
    assert n == StandardNumber("GB/T", "16886.1", "2022")
    assert n.key == "GB/T 16886.1"
    assert n.is_chinese
    iso = parse_standard_number("ISO 10993-1:2018")
    assert (iso.prefix, iso.number, iso.year, iso.key) == ("ISO", "10993-1", "2018", "ISO 10993-1")
    assert not iso.is_chinese
    assert parse_standard_number("IEC 60601-1:2005+A2:2020").key == "IEC 60601-1"
    assert parse_standard_number("ASTM D638-14").number == "D638"
    assert parse_standard_number("GB/T 19001").year is None
    assert str(n) == "GB/T 16886.1-2022"


@pytest.mark.parametrize(
    ("text", "mandatory"),
    [
        ("GB 2760-2014", True),
        ("GB/T 19001-2016", False),
        ("GB/Z 42217-2022", False),
        ("YY 0505-2012", True),
        ("YY/T 1469-2025", False),
        ("DB31/ 329.1-2019", True),
        ("DB11/T 1234-2020", False),
        ("T/CSAE 123-2021", False),
        ("ISO 9001:2015", None),
        ("JGJ 100-2015", None),
    ],
)
def test_is_mandatory(text: str, mandatory: bool | None) -> None:
    assert parse_standard_number(text).is_mandatory is mandatory


# ---- property tests -------------------------------------------------------------------------------------

FILLER = "请问这款标准现在还有效吗企业产品执行的是哪一版什么时候实施对应国标要求，。？、"
_WEAK_BARE_OK = {"YY", "WS", "HJ", "GA", "XF"}


@dataclass(frozen=True)
class Generated:
    canonical: str
    family: str  # "cn" (GB and industry), "local", "group", "intl"
    slash_letter: bool  # has /T or /Z that may be written without the slash
    has_year: bool
    strong: bool  # worth finding in free text even without a year


@st.composite
def standard_numbers(draw: st.DrawFn, with_year: bool | None = None) -> Generated:
    family = draw(st.sampled_from(["cn", "cn", "local", "group", "intl"]))
    main = str(draw(st.integers(1, 99999)))
    if draw(st.booleans()):
        main = main.zfill(4)
    if with_year is None:
        with_year = draw(st.booleans())
    year = draw(st.integers(1950, 2030)) if with_year else None
    if family == "intl":
        part = draw(st.sampled_from(["", "-1", "-2", "-12", "-1-2"]))
        org = draw(st.sampled_from(["ISO", "IEC", "ISO/IEC"]))
        text = f"{org} {main}{part}" + (f":{year}" if year else "")
        return Generated(text, family, False, year is not None, True)
    part = draw(st.sampled_from(["", ".1", ".2", ".15", ".102"]))
    tail = f" {main}{part}" + (f"-{year}" if year else "")
    if family == "cn":
        code = draw(st.sampled_from(["GB", "GB", "YY", *sorted(set(INDUSTRY_CODES) - {"DB"})]))
        letter = draw(st.sampled_from(["", "T", "Z"]))
        if (
            code == "GB" and letter == "Z"
        ):  # GB/Z without slash reads as GBZ (职业卫生), not tested for no-slash
            letter = "T"
        prefix = f"{code}/{letter}" if letter else code
        strong = bool(letter) or code in {"GB", *_WEAK_BARE_OK, "JGJ", "CJJ", "JJG", "JJF", "TSG"}
        if not letter and len(code) == 2 and len(main) < 2 and not part:  # "GB 1", "GA 4": too thin to trust
            strong = False
        return Generated(prefix + tail, family, bool(letter), year is not None, strong)
    if family == "local":
        province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
        letter = draw(st.sampled_from(["T", ""]))
        return Generated(f"DB{province}/{letter}{tail}", family, bool(letter), year is not None, True)
    org = draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=6))
    return Generated(f"T/{org}{tail}", family, False, year is not None, True)


def _full_width(text: str) -> str:
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def surface_forms(draw: st.DrawFn, number: Generated) -> str:
    text = number.canonical
    if number.family != "intl" and number.has_year and draw(st.booleans()):
        dash = draw(st.sampled_from(["—", "–", "－", "——"]))
        head, _, year = text.rpartition("-")
        text = f"{head}{dash}{year}"
    if number.family == "intl" and number.has_year and draw(st.booleans()):
        head, _, year = text.rpartition(":")
        text = f"{head}-{year}"
    if number.slash_letter and draw(st.booleans()):
        text = text.replace("/", "", 1)
    if draw(st.booleans()):
        text = text.replace(" ", "")
    if draw(st.booleans()):
        text = text.lower()
    if draw(st.booleans()):
        text = _full_width(text)
    return text


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_every_surface_form_parses_to_the_canonical(data: st.DataObject) -> None:
    number = data.draw(standard_numbers())
    form = data.draw(surface_forms(number))
    assert parse_standard_number(form).canonical == number.canonical


@settings(max_examples=300, deadline=None)
@given(standard_numbers())
def test_canonical_is_a_fixed_point(number: Generated) -> None:
    parsed = parse_standard_number(number.canonical)
    assert parsed.canonical == number.canonical
    assert parse_standard_number(parsed.canonical) == parsed
    assert parse_standard_number(parsed.key).key == parsed.key


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_number_inside_chinese_text_is_found_with_its_offsets(data: st.DataObject) -> None:
    number = data.draw(standard_numbers())
    form = data.draw(surface_forms(number))
    before = data.draw(st.text(alphabet=FILLER, max_size=20))
    after = data.draw(st.text(alphabet=FILLER, max_size=20))
    text = before + form + after
    found = find_standard_numbers(text)
    if not number.has_year and not number.strong:
        assert found == []
        return
    assert len(found) == 1
    assert found[0].number.canonical == number.canonical
    assert (found[0].start, found[0].end) == (len(before), len(before) + len(form))
