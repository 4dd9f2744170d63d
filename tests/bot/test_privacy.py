"""Personal numbers are masked in logs and analytics; standard numbers and other digits are not."""

from __future__ import annotations

import logging

import pytest

from bot.service.privacy import mask_log_records, mask_personal


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的电话13812345678，请回电", "我的电话138****5678，请回电"),
        ("+86 138-1234-5678", "138****5678"),
        ("身份证110101199003071234", "身份证110101********1234"),
        ("身份证 11010119900307123X 号", "身份证 110101********123X 号"),
        ("GB/T 19001-2016 还有效吗", "GB/T 19001-2016 还有效吗"),
        ("订单 20261203123456789012", "订单 20261203123456789012"),
        ("座机 010-12345678", "座机 010-12345678"),
    ],
)
def test_mobile_and_id_card_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_personal(text) == masked


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    factory = logging.getLogRecordFactory()
    try:
        mask_log_records()
        mask_log_records()  # once is enough; twice changes nothing
        with caplog.at_level(logging.INFO, logger="stdbot.test"):
            logging.getLogger("stdbot.test").info("用户 %s 留下电话 13812345678", "110101199003071234")
        assert caplog.records[-1].getMessage() == "用户 110101********1234 留下电话 138****5678"
    finally:
        logging.setLogRecordFactory(factory)
