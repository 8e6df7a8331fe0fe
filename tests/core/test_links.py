"""Links: finding them in customer text, and the verdict on one (official, or which scam
patterns it shows). Nothing here touches the network."""

import socket

import pytest
import yaml

from core.catalog import RISK_LEVELS
from core.directory import official_directory
from core.links import (
    LINK_REASON_KEYS,
    LINK_RULES_FILE,
    OFFICIAL_DOMAINS_FILE,
    candidate_links,
    check_link,
    load_link_rules,
    load_official_domains,
    official_domains,
)
from core.numbers import unlisted_numbers
from core.settings import Bank

ICBC = Bank("工商银行", "95588")
DOMAINS = official_domains(ICBC, "icbc.com.cn")

TAX = "chinatax.gov.cn"
BANK = "icbc.com.cn"
UNLISTED = "unlisted"

# text, host, official, risk, imitated official domain, patterns
LINK_VERDICTS = [
    # official domains and their subdomains
    ("https://www.chinatax.gov.cn/", "www.chinatax.gov.cn", True, "low", "", ["official"]),
    ("etax.chinatax.gov.cn/login", "etax.chinatax.gov.cn", True, "low", "", ["official"]),
    ("http://www.icbc.com.cn", "www.icbc.com.cn", True, "low", "", ["official"]),
    ("https://mybank.icbc.com.cn/icbc/", "mybank.icbc.com.cn", True, "low", "", ["official"]),
    ("HTTPS://WWW.MPS.GOV.CN", "www.mps.gov.cn", True, "low", "", ["official"]),
    ("www.mohrss.gov.cn", "www.mohrss.gov.cn", True, "low", "", ["official"]),
    ("https://www.pbccrc.org.cn/", "www.pbccrc.org.cn", True, "low", "", ["official"]),
    ("https://chinatax.gov.cn./", "chinatax.gov.cn", True, "low", "", ["official"]),
    ("https://evil.com@chinatax.gov.cn/", "chinatax.gov.cn", True, "low", "", ["official"]),
    # other government sites: low risk, but never called official
    ("https://www.hunan.gov.cn/", "www.hunan.gov.cn", False, "low", "", ["government_unlisted"]),
    ("www.gov.cn", "www.gov.cn", False, "low", "", ["government_unlisted"]),
    # look-alikes
    ("www.chinatax-gov.cn/tui", "www.chinatax-gov.cn", False, "high", TAX, ["lookalike", UNLISTED]),
    ("chinatax.gov.cn.xyz.com", "chinatax.gov.cn.xyz.com", False, "high", TAX, ["lookalike", UNLISTED]),
    ("https://chinataxgov.cn/refund", "chinataxgov.cn", False, "high", TAX, ["lookalike", UNLISTED]),
    ("http://www.chinatex.com/refund", "www.chinatex.com", False, "high", TAX, ["lookalike", UNLISTED]),
    ("https://icbc-com.cn/login", "icbc-com.cn", False, "high", BANK, ["lookalike", UNLISTED]),
    ("http://1cbc.com.cn", "1cbc.com.cn", False, "high", BANK, ["lookalike", UNLISTED]),
    ("http://lcbc.com.cn", "lcbc.com.cn", False, "high", BANK, ["lookalike", UNLISTED]),
    ("http://icbc-95588.com", "icbc-95588.com", False, "high", BANK, ["lookalike", UNLISTED]),
    ("www.icbc.com.cn.login-verify.net", "www.icbc.com.cn.login-verify.net", False, "high", BANK,
     ["lookalike", UNLISTED]),
    ("https://pbccrc-zx.com", "pbccrc-zx.com", False, "high", "pbccrc.org.cn", ["lookalike", UNLISTED]),
    ("https://mps-gov.com/case", "mps-gov.com", False, "high", "mps.gov.cn", ["lookalike", UNLISTED]),
    ("https://mohrs.gov.cn.vip", "mohrs.gov.cn.vip", False, "high", "mohrss.gov.cn",
     ["lookalike", "risky_tld", UNLISTED]),
    ("https://chinataxgov.top", "chinataxgov.top", False, "high", TAX, ["lookalike", "risky_tld", UNLISTED]),
    # homoglyphs and punycode
    ("http://chinаtax.gov.cn.com", "chinаtax.gov.cn.com", False, "high", TAX,
     ["lookalike", "internationalised", UNLISTED]),  # Cyrillic а
    ("https://xn--chinatx-6ng.com", "xn--chinatx-6ng.com", False, "high", TAX,
     ["lookalike", "internationalised", UNLISTED]),
    ("https://xn--80ak6aa92e.com", "xn--80ak6aa92e.com", False, "medium", "", ["internationalised", UNLISTED]),
    # raw IP addresses
    ("http://192.168.1.10/icbc", "192.168.1.10", False, "high", "", ["ip_address", UNLISTED]),
    ("47.98.12.3:8080/login", "47.98.12.3", False, "high", "", ["ip_address", UNLISTED]),
    ("http://[2001:db8::1]/login", "2001:db8::1", False, "high", "", ["ip_address", UNLISTED]),
    ("http://2130706433/", "2130706433", False, "high", "", ["ip_address", UNLISTED]),
    ("http://0x7f.1/", "0x7f.1", False, "high", "", ["ip_address", UNLISTED]),
    # short links
    ("https://t.cn/A6abcd", "t.cn", False, "medium", "", ["short_link", UNLISTED]),
    ("url.cn/5xyz", "url.cn", False, "medium", "", ["short_link", UNLISTED]),
    ("dwz.cn/abc", "dwz.cn", False, "medium", "", ["short_link", UNLISTED]),
    ("bit.ly/3abc", "bit.ly", False, "medium", "", ["short_link", UNLISTED]),
    ("https://tinyurl.com/y2k", "tinyurl.com", False, "medium", "", ["short_link", UNLISTED]),
    ("suo.im/5abc", "suo.im", False, "medium", "", ["short_link", UNLISTED]),
    # unusual top-level domains
    ("https://tuishui.top/", "tuishui.top", False, "medium", "", ["risky_tld", UNLISTED]),
    ("abc.xyz/pay", "abc.xyz", False, "medium", "", ["risky_tld", UNLISTED]),
    ("http://refund-center.vip", "refund-center.vip", False, "medium", "", ["risky_tld", UNLISTED]),
    ("www.kefu.icu", "www.kefu.icu", False, "medium", "", ["risky_tld", UNLISTED]),
    # userinfo and backslash tricks: the browser opens what follows
    ("https://chinatax.gov.cn@evil.com/", "evil.com", False, "high", TAX, ["userinfo", "lookalike", UNLISTED]),
    ("chinatax.gov.cn@evil.com", "evil.com", False, "high", TAX, ["userinfo", "lookalike", UNLISTED]),
    ("http://evil.com\\@chinatax.gov.cn/", "evil.com", False, "high", TAX, ["lookalike", UNLISTED]),
    ("http://evil.com/chinatax.gov.cn/refund", "evil.com", False, "high", TAX, ["lookalike", UNLISTED]),
    ("https://user:pass@evil.com", "evil.com", False, "high", "", ["userinfo", UNLISTED]),
    # other schemes
    ("javascript:alert(1)", "", False, "high", "", ["other_scheme"]),
    ("data:text/html;base64,PGgxPg==", "", False, "high", "", ["other_scheme"]),
    ("weixin://dl/business/?t=abc", "dl", False, "high", "", ["other_scheme", UNLISTED]),
    ("ftp://www.icbc.com.cn/file", "www.icbc.com.cn", False, "high", "", ["other_scheme"]),
    # ordinary unlisted sites: not official, never called safe
    ("https://www.baidu.com", "www.baidu.com", False, "medium", "", [UNLISTED]),
    ("www.ccb.com", "www.ccb.com", False, "medium", "", [UNLISTED]),  # not a typo of icbc
    ("https://ups.com", "ups.com", False, "medium", "", [UNLISTED]),  # short names match exactly only
    ("https://infra.example.org", "infra.example.org", False, "medium", "", [UNLISTED]),
]


@pytest.mark.parametrize("text, host, official, risk, imitates, patterns", LINK_VERDICTS)
def test_check_link(text, host, official, risk, imitates, patterns):
    verdict = check_link(text, DOMAINS)
    assert (verdict.host, verdict.official, verdict.risk, verdict.imitates) == (host, official, risk, imitates)
    assert list(verdict.patterns) == patterns
    assert len(verdict.reasons) == len(patterns)
    assert bool(verdict.owner) is official


def test_table_covers_every_pattern():
    covered = {pattern for *_, patterns in LINK_VERDICTS for pattern in patterns}
    assert covered == set(LINK_REASON_KEYS)


def test_official_verdict_names_owner():
    verdict = check_link("https://etax.chinatax.gov.cn/", DOMAINS)
    assert verdict.owner == "国家税务总局"
    assert "国家税务总局" in verdict.reasons[0] and "chinatax.gov.cn" in verdict.reasons[0]


def test_lookalike_reason_names_the_copied_site():
    verdict = check_link("icbc-com.cn", DOMAINS)
    assert "工商银行" in verdict.reasons[0] and "icbc.com.cn" in verdict.reasons[0]


def test_risky_tld_reason_names_the_suffix():
    assert ".top" in check_link("tuishui.top", DOMAINS).reasons[0]


def test_verdict_is_frozen():
    verdict = check_link("www.icbc.com.cn", DOMAINS)
    with pytest.raises(AttributeError):
        verdict.official = False


@pytest.mark.parametrize("text", ["", None, "没有网址", "file.txt", "zhang.san@qq.com", "v1.2.3.4", "999.1.1.1"])
def test_check_link_without_a_link_is_none(text):
    assert check_link(text, DOMAINS) is None


# --- the bank's domain is configuration -------------------------------------------


def test_another_banks_domain_is_official_for_that_bank_only():
    ccb = official_domains(Bank("建设银行", "95533"), "ccb.com")
    assert check_link("www.ccb.com", ccb).owner == "建设银行"
    assert check_link("www.icbc.com.cn", ccb).official is False
    assert check_link("ccb-com.cn", ccb).imitates == "ccb.com"


def test_no_bank_domain_adds_nothing():
    assert official_domains(Bank("建设银行", "95533"), "") == load_official_domains()


# --- finding links in free text ---------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("退税请点 www.chinatax-gov.cn/tui，今天截止。", ["www.chinatax-gov.cn/tui"]),
        ("点击https://t.cn/A6abcd领取", ["https://t.cn/A6abcd"]),
        ("登录ｗｗｗ．ｉｃｂｃ．ｃｏｍ．ｃｎ查看", ["www.icbc.com.cn"]),  # full-width
        ("网址是icbc。com。cn吗", ["icbc.com.cn"]),  # 。 for a dot
        ("（见www.abc.top）", ["www.abc.top"]),
        ("打开 47.98.12.3 输入卡号", ["47.98.12.3"]),
        ("链接：http://evil.com/a?b=1&c=2！", ["http://evil.com/a?b=1&c=2"]),
        ("https://a.top 和 https://b.xyz 还有 https://a.top", ["https://a.top", "https://b.xyz"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar).", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("发邮件到zhang.san@qq.com", []),
        ("下载file.txt，版本v1.2.3.4", []),
        ("Mr.Li说的", []),
        ("", []),
        (None, []),
    ],
)
def test_candidate_links(text, expected):
    assert candidate_links(text) == expected


@pytest.mark.parametrize("text", [row[0] for row in LINK_VERDICTS])
def test_a_link_is_found_as_itself(text):
    assert candidate_links(f"对方发来：{text} ，让我填信息") == [text]


def test_nothing_is_fetched(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("link checks must not use the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for text, *_ in LINK_VERDICTS:
        check_link(text, DOMAINS)


# --- the data ---------------------------------------------------------------------


def test_reasons_say_no_unlisted_number():
    directory = official_directory(ICBC)
    for text, *_ in LINK_VERDICTS:
        for reason in check_link(text, DOMAINS).reasons:
            assert unlisted_numbers(reason, directory) == [], reason


def test_link_rules_load_and_are_consistent():
    rules = load_link_rules()
    assert set(rules.reasons) == set(LINK_REASON_KEYS)
    assert {reason.risk for reason in rules.reasons.values()} <= set(RISK_LEVELS)
    assert rules.risky_tlds <= rules.bare_domain_tlds
    assert "t.cn" in rules.short_link_hosts and "top" in rules.risky_tlds
    # a confusable maps to plain ASCII, or two forms would never meet
    assert all(target.isascii() and target.isalpha() for target in rules.confusables.values())


def test_official_domains_are_bare_lower_case_and_unique():
    raw = yaml.safe_load(OFFICIAL_DOMAINS_FILE.read_text(encoding="utf-8"))["domains"]
    domains = [entry["domain"] for entry in raw]
    assert len(domains) == len(set(domains))
    for entry in raw:
        assert entry["domain"] == entry["domain"].lower().strip() and "/" not in entry["domain"]
        assert entry["owner"].strip()
        # an official domain is never itself caught by the scam patterns
        assert check_link(f"https://{entry['domain']}/", DOMAINS).patterns == ("official",)


def test_government_suffixes_do_not_make_gov_cn_official():
    assert "gov.cn" not in load_official_domains()
    raw = yaml.safe_load(LINK_RULES_FILE.read_text(encoding="utf-8"))
    assert raw["government_suffixes"] == ["gov.cn"]
