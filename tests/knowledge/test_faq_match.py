"""FAQ direct answers: parsing FAQ chunks and matching paraphrased questions with real embeddings."""

from __future__ import annotations

import threading

import pytest
from langchain_core.embeddings import Embeddings

from knowledge.embeddings import UniversalSentenceEncoder
from knowledge.faq_match import FaqMatcher, basis_citations, parse_faq_text, subjects_conflict
from knowledge.followup import FollowupVocabulary
from knowledge.types import Chunk, Hit

FAQ = [
    (
        "企业标准需要自我声明公开吗？",
        "需要。企业应当公开所执行标准的编号和名称。",
        "《中华人民共和国标准化法》第二十七条",
    ),
    (
        "团体标准由谁制定？",
        "团体标准由学会、协会、商会等社会团体制定。",
        "《中华人民共和国标准化法》第十八条",
    ),
    (
        "强制性标准必须执行吗？",
        "强制性标准必须执行，不符合的产品不得生产、销售。",
        "《中华人民共和国标准化法》第二条",
    ),
    ("CCC认证证书有效期多久？", "CCC认证证书有效期一般为5年。", ""),
]


def faq_hit(index: int, score: float = 0.03) -> Hit:
    question, answer, basis = FAQ[index]
    text = f"问：{question}\n答：{answer}" + (f"\n依据：{basis}" if basis else "")
    return Hit(Chunk(id=f"faq{index}", text=text, source="常见问题", kind="faq", question=question), score)


HITS = [faq_hit(i) for i in range(len(FAQ))]


class CountingEmbeddings(Embeddings):
    """The real encoder, counting how many texts it embeds."""

    def __init__(self, inner: UniversalSentenceEncoder) -> None:
        self.inner = inner
        self.documents = 0
        self.lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self.lock:
            self.documents += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@pytest.fixture(scope="module")
def encoder() -> UniversalSentenceEncoder:
    return UniversalSentenceEncoder()


@pytest.fixture
def matcher(encoder: UniversalSentenceEncoder) -> FaqMatcher:
    return FaqMatcher(encoder)


def test_parse_faq_text_splits_question_answer_and_basis() -> None:
    entry = parse_faq_text(
        "问：企业标准要公开吗？\n答：需要。\n公开编号和名称。\n依据：《标准化法》第二十七条"
    )
    assert entry.question == "企业标准要公开吗？"
    assert entry.answer == "需要。\n公开编号和名称。"
    assert entry.basis == "《标准化法》第二十七条"


def test_parse_faq_text_without_markers_is_all_answer() -> None:
    entry = parse_faq_text("直接写的答案。", question="问题？")
    assert (entry.question, entry.answer, entry.basis) == ("问题？", "直接写的答案。", None)


def test_parse_faq_text_accepts_ascii_colons_and_missing_basis() -> None:
    entry = parse_faq_text("问: 团标谁定?\n答: 社会团体。")
    assert (entry.question, entry.answer, entry.basis) == ("团标谁定?", "社会团体。", None)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("企业标准要公开吗", 0),
        ("企标要不要自我声明公开", 0),
        ("团标谁来制定", 1),
        ("强制标准是不是必须执行", 2),
        ("CCC证书的有效期是多久", 3),
    ],
)
def test_paraphrases_match_their_faq(matcher: FaqMatcher, question: str, expected: int) -> None:
    match = matcher.best_match(question, HITS, threshold=0.6)
    assert match is not None, question
    assert match.hit.chunk.id == f"faq{expected}"
    assert match.entry.answer == FAQ[expected][1]
    assert 0.6 <= match.similarity <= 1.0


@pytest.mark.parametrize("question", ["今天天气怎么样", "地方标准怎么备案", "计量器具要检定吗"])
def test_unrelated_questions_match_no_faq(matcher: FaqMatcher, question: str) -> None:
    assert matcher.best_match(question, HITS, threshold=0.6) is None


def test_a_different_subject_is_never_matched(matcher: FaqMatcher) -> None:
    # worded exactly like FAQ 0 but about group standards
    assert matcher.best_match("团体标准需要自我声明公开吗？", [HITS[0]], threshold=0.3) is None
    assert matcher.best_match("企业标准需要自我声明公开吗？", [HITS[0]], threshold=0.3) is not None


def test_subjects_conflict_knows_colloquial_terms_and_numbers() -> None:
    vocabulary = FollowupVocabulary.load()
    assert not subjects_conflict("企标要公开吗", "企业标准需要公开吗", vocabulary)
    assert subjects_conflict("团标要公开吗", "企业标准需要公开吗", vocabulary)
    assert subjects_conflict("GB/T 19001 有效吗", "GB/T 19004 有效吗", vocabulary)
    assert not subjects_conflict("gbt19001 有效吗", "GB/T 19001 有效吗", vocabulary)
    assert not subjects_conflict("要公开吗", "企业标准需要公开吗", vocabulary)


def test_only_faq_hits_are_considered(matcher: FaqMatcher) -> None:
    law = Hit(Chunk(id="law", text="企业标准需要自我声明公开吗？", source="标准化法", kind="law"), 0.05)
    assert matcher.best_match("企业标准需要自我声明公开吗", [law], threshold=0.1) is None


def test_the_higher_threshold_refuses_a_looser_match(matcher: FaqMatcher) -> None:
    hits = HITS[::-1]  # the FAQ is not the retriever's first: no lead bonus, similarity below 1
    loose = matcher.best_match("企标要不要自我声明公开", hits, threshold=0.0)
    assert loose is not None and loose.similarity < 1.0
    assert matcher.best_match("企标要不要自我声明公开", hits, threshold=loose.similarity + 0.005) is None


def test_faq_question_vectors_are_cached(encoder: UniversalSentenceEncoder) -> None:
    embeddings = CountingEmbeddings(encoder)
    matcher = FaqMatcher(embeddings)
    matcher.best_match("这个要公开吗", HITS, threshold=0.6)  # names no subject: every FAQ is compared
    assert embeddings.documents == len(FAQ)
    matcher.best_match("那个由谁制定", HITS, threshold=0.6)
    assert embeddings.documents == len(FAQ)


def test_the_cache_is_bounded(encoder: UniversalSentenceEncoder) -> None:
    embeddings = CountingEmbeddings(encoder)
    matcher = FaqMatcher(embeddings, cache_size=2)
    matcher.best_match("这个要公开吗", HITS, threshold=0.6)
    assert len(matcher._vectors) == 2
    matcher.best_match("这个要公开吗", HITS, threshold=0.6)
    assert embeddings.documents == len(FAQ) + 2  # the two evicted vectors are embedded again


def test_basis_citations_parse_each_reference() -> None:
    citations = basis_citations(
        "《中华人民共和国标准化法》第二十七条；《企业标准化促进办法》第十四条；《上海市标准化条例》", 0.8
    )
    assert [c.label for c in citations] == [
        "《中华人民共和国标准化法》第二十七条",
        "《企业标准化促进办法》第十四条",
        "《上海市标准化条例》",
    ]
    assert [c.kind for c in citations] == ["law", "rule", "local"]
