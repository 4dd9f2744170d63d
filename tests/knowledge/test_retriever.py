from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import RetrievalSettings, Settings
from ingest.build import build_knowledge_base
from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.kb import KnowledgeBase, open_knowledge_base

NATIONAL_LAW = """# 中华人民共和国示例质量法

## 第一章 总则

第一条 为了加强示例产品的质量管理，制定本法。

第二条 企业应当公开其执行的示例标准的编号和名称，接受社会监督。

第三条 生产企业不得销售不符合强制性示例标准的产品。

## 第二章 法律责任

第四条 违反本法第三条规定的，由市场监督管理部门责令改正，并处货值金额一倍以上三倍以下罚款。
"""

IMPLEMENTING_RULES = """# 中华人民共和国示例质量法实施细则

第一条 根据《中华人民共和国示例质量法》，制定本细则。

第二条 企业公开标准的编号和名称，应当在公共服务平台上进行。
"""

LOCAL_REGULATION = """# 江苏省示例质量条例

第一条 为了规范本省示例产品的质量管理，制定本条例。

第二条 企业应当公开其执行的示例标准的编号和名称，接受社会监督。
"""

CATALOGUE = """标准编号,标准名称,状态,发布日期,实施日期,代替标准,被代替标准
GB/T 19001-2016,质量管理体系 要求,现行,2016-12-30,2017-07-01,GB/T 19001-2008,
GB/T 19001-2008,质量管理体系 要求,废止,2008-10-29,2009-03-01,,GB/T 19001-2016
GB/T 24001-2016,环境管理体系 要求及使用指南,现行,2016-10-13,2017-05-01,,
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("retriever")
    folder = root / "sources"
    folder.mkdir()
    (folder / "示例质量法(2020-01-01).md").write_text(NATIONAL_LAW, encoding="utf-8")
    (folder / "示例质量法实施细则(2021-01-01).md").write_text(IMPLEMENTING_RULES, encoding="utf-8")
    (folder / "江苏省示例质量条例(2022-01-01).md").write_text(LOCAL_REGULATION, encoding="utf-8")
    (folder / "catalogue.csv").write_text(CATALOGUE, encoding="utf-8")
    settings = Settings(data_dir=root / "var")
    embeddings = UniversalSentenceEncoder()
    build_knowledge_base([folder], settings, embeddings=embeddings)
    return open_knowledge_base(settings, embeddings=embeddings)


def _top(kb: KnowledgeBase, question: str, **kwargs: object) -> tuple[str, tuple[str, ...]]:
    hit = kb.retriever.search(question, 1, **kwargs)[0]  # type: ignore[arg-type]
    return hit.chunk.source, hit.chunk.clauses


def test_national_law_outranks_a_local_regulation_with_the_same_words(kb: KnowledgeBase) -> None:
    hits = kb.retriever.search("企业要公开执行标准的编号和名称吗", 5)
    order = [(h.chunk.source, h.chunk.clauses) for h in hits]
    assert hits[0].chunk.kind != "local"
    national = order.index(("中华人民共和国示例质量法", ("第二条",)))
    assert ("江苏省示例质量条例", ("第二条",)) not in order[: national + 1]


def test_a_named_place_brings_its_local_regulation_first(kb: KnowledgeBase) -> None:
    assert _top(kb, "江苏的企业要公开执行标准的编号和名称吗") == ("江苏省示例质量条例", ("第二条",))


def test_a_named_law_steers_to_that_source(kb: KnowledgeBase) -> None:
    source, _ = _top(kb, "示例质量法实施细则里企业公开标准在哪里进行")
    assert source == "中华人民共和国示例质量法实施细则"


def test_colloquial_question_finds_the_penalty_article(kb: KnowledgeBase) -> None:
    assert _top(kb, "卖不符合强标的东西罚多少") == ("中华人民共和国示例质量法", ("第四条",))


def test_compact_standard_number_finds_its_catalogue_records(kb: KnowledgeBase) -> None:
    hits = kb.retriever.search("gbt19001还能用吗", 3)
    assert {h.chunk.standard for h in hits[:2]} == {"GB/T 19001-2016", "GB/T 19001-2008"}
    exact = kb.retriever.search("GB/T 19001—2008 现在什么状态", 1)[0]
    assert exact.chunk.standard == "GB/T 19001-2008"


def test_kind_and_status_filters(kb: KnowledgeBase) -> None:
    hits = kb.retriever.search("质量管理体系", 5, kinds={"catalog"}, statuses={"现行"})
    assert hits and all(h.chunk.kind == "catalog" and h.chunk.status == "现行" for h in hits)
    laws = kb.retriever.search("质量管理", 5, kinds={"law"})
    assert laws and all(h.chunk.kind == "law" for h in laws)


def test_hits_carry_the_signals_that_found_them(kb: KnowledgeBase) -> None:
    hit = kb.retriever.search("企业公开标准编号和名称", 1)[0]
    assert hit.bm25_score is not None and hit.bm25_score > 0
    assert hit.dense_similarity is not None and -1.0 <= hit.dense_similarity <= 1.0


def test_empty_question_finds_nothing(kb: KnowledgeBase) -> None:
    assert kb.retriever.search("   ", 5) == []


def test_bm25_only_and_dense_only_weights(kb: KnowledgeBase) -> None:
    retriever = kb.retriever
    original = retriever.settings
    try:
        retriever.settings = RetrievalSettings(dense_weight=0)
        assert all(h.dense_similarity is None for h in retriever.search("标准编号和名称", 5))
        retriever.settings = RetrievalSettings(bm25_weight=0)
        assert all(h.bm25_score is None for h in retriever.search("标准编号和名称", 5))
    finally:
        retriever.settings = original


def test_rebuilt_vectors_live_in_chroma(kb: KnowledgeBase, tmp_path: Path) -> None:
    assert kb.retriever._vectors is not None
    assert kb.retriever._vectors.count() == len(kb.retriever.chunks)
