"""Intent classification: asking for a person, staff-only topics, out-of-scope chat, greetings."""

from __future__ import annotations

import pytest

from knowledge.intent import IntentKeywords, classify_intent, contains_keyword, parse_keyword_sections

KEYWORDS = IntentKeywords.load()


def handled(message: str) -> tuple[str, bool, bool]:
    """How a message is handled: (its intent, handed to staff, answered from the knowledge base)."""
    intent = classify_intent(message, KEYWORDS)
    return intent.kind, intent.escalate, intent.answerable


@pytest.mark.parametrize(
    "message",
    [
        "转人工",
        "我要人工客服",
        "别跟机器人说了，找个真人跟我聊",
        "能不能找人工",
        "人工服务",
        "人工！",
        "  人工  ",
        "找个人帮我看看",
        "I want a human",
        "talk to an agent please",
        "转人工 😡😡",
    ],
)
def test_asking_for_a_person_is_human(message: str) -> None:
    assert handled(message) == ("human", True, False)


@pytest.mark.parametrize(
    ("message", "keyword"),
    [
        ("我要投诉你们局里办事的王科长，态度太差还拖着不给办", "投诉"),
        ("检测费我交了两次，怎么退款", "退款"),
        ("跟供应商因为标准打官司了怎么办", "打官司"),
        ("对处罚决定不服能申请行政复议吗", "行政复议"),
        ("举报一家企业生产不合格产品", "举报"),
    ],
)
def test_topics_staff_must_handle_escalate_but_stay_answerable(message: str, keyword: str) -> None:
    assert handled(message) == ("staff_topic", True, True)
    assert classify_intent(message, KEYWORDS).keyword == keyword


@pytest.mark.parametrize(
    "message",
    [
        "今天天气",
        "明天杭州天气怎么样",
        "最近买哪只股票能涨",
        "帮我写一首关于春天的诗",
        "讲个笑话",
        "What's the weather like?",
        "帮我买张去北京的火车票",
        "个税怎么报",
        "这期双色球开什么",
        "陪我聊聊天",
        "Tell me a joke",
    ],
)
def test_unrelated_topics_are_out_of_scope(message: str) -> None:
    assert handled(message) == ("out_of_scope", False, False)


@pytest.mark.parametrize(
    "message",
    [
        "企业标准要公开吗",
        "GB/T 19001-2016 还有效吗",
        "气象行业标准里天气预报用语怎么规定",  # 天气, but about a standard
        "人工智能相关的国家标准有哪些",  # 人工 inside 人工智能 is not a request for a person
        "ISO 9001 对应哪个国标",
        "ＧＢ／Ｔ １９００１ 还能用吗",
        "你好，企业标准要公开吗？",
        "罚多少？",
        "Does an enterprise standard need to be published?",
    ],
)
def test_ordinary_questions_are_questions(message: str) -> None:
    assert handled(message) == ("question", False, True)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("你好", "greeting"),
        ("在吗？", "greeting"),
        ("hello!", "greeting"),
        ("谢谢", "thanks"),
        ("好的，谢谢！", "thanks"),
    ],
)
def test_greetings_and_thanks_are_not_escalated(message: str, kind: str) -> None:
    assert handled(message) == (kind, False, False)


def test_english_keywords_match_whole_words_only() -> None:
    assert contains_keyword("need a human", "human")
    assert not contains_keyword("humanity standards", "human")
    assert not contains_keyword("reagents", "agent")


def test_keyword_file_sections_are_parsed_and_normalised() -> None:
    sections = parse_keyword_sections(
        "# title\nintro line\n## human\nnote\n- 转人工\n-  ＡＧＥＮＴ \n## other\n- x\n"
    )
    assert sections == {"human": ("转人工", "agent"), "other": ("x",)}


def test_every_intent_list_is_loaded_from_the_prompt_file() -> None:
    for name, values in vars(KEYWORDS).items():
        assert values, f"prompts/intent_keywords.md has no {name} section"


@pytest.mark.parametrize(
    ("message", "keyword"),
    [
        ("人工服务时间是几点到几点", "人工服务时间"),
        ("人工几点上班", "人工几点"),
        ("你们几点下班", "几点下班"),
        ("周末有人吗", "周末有人"),
        ("节假日有人吗？", "节假日有人"),
        ("怎么转人工", "怎么转人工"),
        ("怎么联系你们", "怎么联系你们"),
        ("What are your office hours?", "office hours"),
    ],
)
def test_questions_about_the_service_are_answered_not_handed_over(message: str, keyword: str) -> None:
    assert handled(message) == ("service", False, False)
    assert classify_intent(message, KEYWORDS).keyword == keyword


@pytest.mark.parametrize(
    "message", ["人工服务", "我要人工服务，你们几点下班", "转人工，周末有人吗", "有人工吗"]
)
def test_asking_for_a_person_wins_over_a_service_question_in_the_same_message(message: str) -> None:
    assert classify_intent(message, KEYWORDS).kind == "human"


@pytest.mark.parametrize("message", ["你是傻子吗", "垃圾机器人", "什么垃圾东西，答非所问", "you are stupid"])
def test_insults_get_a_calm_reply_without_handoff(message: str) -> None:
    assert handled(message) == ("insult", False, False)


@pytest.mark.parametrize(
    "message",
    ["生活垃圾分类有国家标准吗", "滚动轴承的行业标准", "傻瓜相机的检验标准", "垃圾处理企业要备案吗"],
)
def test_words_that_look_rude_inside_a_domain_question_stay_a_question(message: str) -> None:
    assert classify_intent(message, KEYWORDS).kind == "question"


@pytest.mark.parametrize(
    "message",
    [
        "asdfgh",
        "qwerty",
        "啊啊啊啊",
        "哈哈哈",
        "嗯嗯",
        "。。。。",
        "？？？",
        "zxcvb nmzxc",
        "😀😀",
        "[捂脸][捂脸]",
        "aaaaaa",
    ],
)
def test_key_mash_and_bare_symbols_are_unclear(message: str) -> None:
    assert handled(message) == ("unclear", False, False)


@pytest.mark.parametrize(
    "message",
    ["企标?", "GB 2760", "CCC", "ISO 9001", "HACCP", "3C认证", "GB/T 1.1", "qs", "2", "团标？", "RoHS 要求"],
)
def test_short_real_questions_are_not_mash(message: str) -> None:
    assert classify_intent(message, KEYWORDS).kind == "question"
