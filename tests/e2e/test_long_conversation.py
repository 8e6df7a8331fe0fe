"""A conversation far longer than the server's working history (server/runtime/history.py):
the assistant still knows what it said, a form still works, and nothing is lost from
the stored conversation."""

from tests.e2e.test_conversation import payloads

TURNS_OF_CHAT = 24  # beyond the 8 turns the server keeps before trimming


def test_a_long_conversation_keeps_its_meaning_and_its_record(assistant):
    sender = "long-conversation"
    first = assistant.say(sender, "税务局打电话说我有购房退税，让我去ATM上操作")
    assert payloads(first)[0]["scam_type"] == "tax_refund"

    for number in range(TURNS_OF_CHAT):
        reply = assistant.say(sender, "谢谢" if number % 2 else "我再想想")
        assert reply and reply[0].get("text")

    # The type named 25 turns ago is still what follow-ups are about.
    why = assistant.say(sender, "为什么说是诈骗")
    assert "退税" in why[0]["text"]

    # A vague story this late still gets its questions and an assessment.
    assert "对方说自己是哪里的" in assistant.say(sender, "刚才又接了个奇怪的电话")[0]["text"]
    assert "对方让您做什么" in assistant.say(sender, "公检法")[0]["text"]
    assert "已经给出去了吗" in assistant.say(sender, "转账汇款")[0]["text"]
    final = payloads(assistant.say(sender, "还没有"))[0]
    assert final["type"] == "scam_assessment"
    assert final["scam_type"] == "impersonate_police"

    # Every message is stored, whatever the server kept in memory.
    stored_texts = [e["text"] for e in assistant.stored_events(sender) if e["event"] == "user"]
    assert len(stored_texts) == 1 + TURNS_OF_CHAT + 1 + 4
    assert stored_texts[0].startswith("税务局打电话")
