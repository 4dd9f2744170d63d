from __future__ import annotations

from knowledge.source_names import SourceNames, place_of, short_name

TITLES = [
    "中华人民共和国标准化法",
    "中华人民共和国标准化法实施条例",
    "国家标准管理办法",
    "强制性国家标准管理办法",
    "上海市标准化条例",
    "山东省标准化条例",
]


def test_short_names_and_places() -> None:
    assert short_name("《中华人民共和国标准化法》") == "标准化法"
    assert place_of("上海市标准化条例") == "上海"
    assert place_of("山东省标准化条例") == "山东"
    assert place_of("中华人民共和国标准化法") is None


def test_longest_name_wins_where_names_overlap() -> None:
    names = SourceNames(TITLES)
    assert names.named_in("标准化法实施条例第几条讲复审") == {"中华人民共和国标准化法实施条例"}
    assert names.named_in("按标准化法规定企业标准要公开吗") == {"中华人民共和国标准化法"}
    assert names.named_in("强制性国家标准管理办法怎么说") == {"强制性国家标准管理办法"}
    assert names.named_in("标准化法和国家标准管理办法") == {"中华人民共和国标准化法", "国家标准管理办法"}
    assert names.named_in("企业标准要公开吗") == set()


def test_places_named_in_a_question() -> None:
    names = SourceNames(TITLES)
    assert names.places_in("上海的企业标准要备案吗") == {"上海"}
    assert names.places_in("企业标准要备案吗") == set()
    assert names.place("山东省标准化条例") == "山东"
    assert names.place("中华人民共和国标准化法") is None
