"""Issue 15: twenty messages of one conversation at once (a double tap, WeChat's retries,
a script), over HTTP against the real servers. Each waits for the conversation's lock;
Rasa's lock store looked once a second, so they ran about one a second and the last ones
got the safe reply at ASSISTANT_REPLY_TIMEOUT while their answers were lost."""

import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

from core.settings import DEFAULT_REPLY_TIMEOUT_SECONDS
from core.wording import say

COUNT = 20
SAFE_REPLY_OPENING = say("safe_reply.opening")
# Letters only in the links: nothing to mask, and each answer names its own link.
LINKS = [f"https://icbc-refund-{chr(ord('a') + i)}{chr(ord('a') + i)}.top/login" for i in range(COUNT)]


def test_twenty_messages_of_one_conversation_at_once_each_get_their_own_answer_in_order(assistant):
    sender = "burst-" + secrets.token_hex(4)
    texts = [f"这个链接安全吗 {link}" for link in LINKS]

    def turn(text):
        messages = assistant.say(sender, text)
        return messages, time.monotonic()

    started = time.monotonic()
    with ThreadPoolExecutor(COUNT) as pool:
        futures = []
        for text in texts:
            futures.append(pool.submit(turn, text))
            time.sleep(0.02)  # sent in this order, all before the first is answered
        results = [future.result() for future in futures]

    slowest = max(finished for _, finished in results) - started
    print(f"\n{COUNT} turns of one conversation at once: the last answered after {slowest:.2f} s")
    for link, (messages, _) in zip(LINKS, results):
        assert not any(SAFE_REPLY_OPENING in (m.get("text") or "") for m in messages), messages
        checks = [m["custom"] for m in messages if m.get("custom", {}).get("type") == "link_check"]
        assert [check["url"] for check in checks] == [link]
    assert slowest < DEFAULT_REPLY_TIMEOUT_SECONDS / 2

    # Stored one after another, in the order sent, each answer right after its message.
    events = [e for e in assistant.stored_events(sender) if e["event"] in ("user", "bot")]
    turns, current = [], None
    for event in events:
        if event["event"] == "user":
            current = [event["text"], []]
            turns.append(current)
        elif (event.get("data") or {}).get("custom"):
            current[1].append(event["data"]["custom"].get("url"))
    assert [text for text, _ in turns] == texts
    assert [urls for _, urls in turns] == [[re.search(r"https://\S+", t)[0]] for t in texts]
