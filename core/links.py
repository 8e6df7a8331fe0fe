"""Links: find them in free text and say whether one is an official site or looks like a scam.

Nothing is fetched: the verdict comes from the link's text alone, checked against the
official domains (official_domains.yml plus the bank's configured domain) and the scam
patterns in link_rules.yml.
"""

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, List, Optional, Tuple
from urllib.parse import unquote, urlsplit

import yaml

from core import KNOWLEDGE, RULES
from core.catalog import RISK_LEVELS
from core.settings import Bank

OFFICIAL_DOMAINS_FILE = KNOWLEDGE / "official_domains.yml"
LINK_RULES_FILE = RULES / "link_rules.yml"
LINK_REASON_KEYS = (
    "official", "government_unlisted", "unlisted", "lookalike", "userinfo", "ip_address",
    "internationalised", "short_link", "risky_tld", "other_scheme",
)
WEB_SCHEMES = ("http", "https")
# Schemes without "//" that run or embed content instead of opening a site.
_SCRIPT_SCHEMES = ("javascript", "data", "vbscript")

# Letters a host may be written with: ASCII plus the Latin, Greek and Cyrillic letters
# used to fake it. Never CJK, so Chinese text around a link ends it.
_LETTERS = "a-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_HOST = rf"(?:[{_LETTERS}_-]+\.)+(?:xn--[a-z0-9-]+|[a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]{{2,24}})"
_TAIL = rf"[{_LETTERS}\-._~:/?#\[\]@!$&()*+,;=%\\]*"
_PORT_AND_PATH = rf"(?::\d{{1,5}})?(?:[/?#\\]{_TAIL})?"
_LINK = re.compile(
    # with a scheme: https://…, weixin://…, javascript:…
    rf"(?<![{_LETTERS}+.-])(?:[a-z][a-z0-9+.-]*://|(?:{'|'.join(_SCRIPT_SCHEMES)}):){_TAIL}"
    # a bare name: www.chinatax-gov.cn/tui, chinatax.gov.cn@evil.com (not an e-mail's domain)
    rf"|(?<![{_LETTERS}@._-])(?:{_HOST}@)?{_HOST}\.?{_PORT_AND_PATH}"
    # a bare IPv4 address
    rf"|(?<![{_LETTERS}.])\d{{1,3}}(?:\.\d{{1,3}}){{3}}(?![\d.]?\d){_PORT_AND_PATH}",
    re.IGNORECASE,
)
_EXPLICIT_SCHEME = re.compile(rf"([a-z][a-z0-9+.-]*)://|({'|'.join(_SCRIPT_SCHEMES)}):", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?"
# Customers and scammers write 。 for a dot ("icbc。com。cn"); browsers read it as one.
_IDEOGRAPHIC_DOT = re.compile(r"(?<=[A-Za-z0-9])。(?=[A-Za-z0-9])")
# Browsers open all-numeric hosts such as 2130706433 or 0x7f.1 as IPv4 addresses.
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+)){0,3}")
# Official names shorter than this match only exactly (after confusables), or "mps"
# would flag "ups"; longer ones also match with a typo or two, or with words stuck on.
_FUZZY_MIN_LENGTH = 5
_TWO_TYPOS_MIN_LENGTH = 8


@dataclass(frozen=True)
class Reason:
    risk: str
    text: str


@dataclass(frozen=True)
class LinkRules:
    government_suffixes: Tuple[str, ...]
    short_link_hosts: FrozenSet[str]
    risky_tlds: FrozenSet[str]
    bare_domain_tlds: FrozenSet[str]
    confusables: Dict[str, str]
    reasons: Dict[str, Reason]


@dataclass(frozen=True)
class LinkVerdict:
    """What the assistant can say about one link.

    `url` is the link as found and `host` the site it really opens (lower case, "" for
    javascript: and data: links); neither should be repeated to the customer unless
    `official`. `imitates` is the official domain it copies, or "". `risk` is low, medium
    or high; `reasons` are short Chinese sentences, safe to say; `patterns` their keys in
    link_rules.yml ("lookalike", …), for payloads.
    """

    url: str
    host: str
    official: bool
    owner: str
    risk: str
    reasons: Tuple[str, ...]
    patterns: Tuple[str, ...]
    imitates: str
    # (pattern, its fields) behind each reason, for saying them in another language.
    findings: Tuple[Tuple[str, Tuple[Tuple[str, str], ...]], ...] = ()


@dataclass(frozen=True)
class _Parts:
    scheme: str
    host: str
    has_userinfo: bool
    # The userinfo and path, where a scammer plants an official name the browser ignores.
    decoy: str


# A reason key from link_rules.yml and the values for its {placeholders}.
Finding = Tuple[str, Dict[str, str]]


@lru_cache(maxsize=1)
def load_official_domains() -> Dict[str, str]:
    """official_domains.yml: domain -> owner."""
    raw = yaml.safe_load(OFFICIAL_DOMAINS_FILE.read_text(encoding="utf-8"))
    domains = {str(entry["domain"]).lower(): str(entry["owner"]) for entry in raw["domains"]}
    if len(domains) != len(raw["domains"]):
        raise ValueError("official_domains.yml lists a domain twice")
    return domains


def official_domains(bank: Bank, bank_domain: str) -> Dict[str, str]:
    """Every domain the assistant may call official: the list plus the bank's own domain.

    `bank_domain` is settings().bank_domain; "" adds no bank site.
    """
    domains = dict(load_official_domains())
    if bank_domain:
        domains.setdefault(bank_domain.lower(), bank.name)
    return domains


@lru_cache(maxsize=1)
def load_link_rules() -> LinkRules:
    raw = yaml.safe_load(LINK_RULES_FILE.read_text(encoding="utf-8"))
    reasons = {key: Reason(risk=entry["risk"], text=entry["text"]) for key, entry in raw["reasons"].items()}
    if set(reasons) != set(LINK_REASON_KEYS):
        raise ValueError(f"link_rules.yml reasons must be exactly {LINK_REASON_KEYS}")
    if any(reason.risk not in RISK_LEVELS for reason in reasons.values()):
        raise ValueError(f"link_rules.yml reason risks must be one of {RISK_LEVELS}")
    short_link_hosts = frozenset(str(host).lower() for host in raw["short_link_hosts"])
    risky_tlds = frozenset(str(tld).lower() for tld in raw["risky_tlds"])
    bare_domain_tlds = (
        {str(tld).lower() for tld in raw["bare_domain_tlds"]}
        | risky_tlds
        | {host.rsplit(".", 1)[-1] for host in short_link_hosts}
    )
    return LinkRules(
        government_suffixes=tuple(str(s).lower() for s in raw["government_suffixes"]),
        short_link_hosts=short_link_hosts,
        risky_tlds=risky_tlds,
        bare_domain_tlds=frozenset(bare_domain_tlds),
        confusables={str(k): str(v) for k, v in raw["confusables"].items()},
        reasons=reasons,
    )


# --- finding links ----------------------------------------------------------------


def candidate_links(text: str) -> List[str]:
    """Links in free text, first mention first, without repeats.

    Full-width letters and punctuation are read as ASCII (ｗｗｗ．ｉｃｂｃ…), 。 between
    letters as a dot. A bare name counts only with a known suffix (not file.txt), and an
    e-mail address is not a link.
    """
    text = _IDEOGRAPHIC_DOT.sub(".", unicodedata.normalize("NFKC", text or ""))
    found = []
    for match in _LINK.finditer(text):
        link = _without_trailing_punctuation(match.group())
        if _looks_like_a_link(link):
            found.append(link)
    return list(dict.fromkeys(found))


def _without_trailing_punctuation(link: str) -> str:
    """Drops sentence punctuation after a link, and a ")" that closes the text's bracket."""
    while link and (
        link[-1] in _TRAILING_PUNCTUATION or (link[-1] == ")" and link.count(")") > link.count("("))
    ):
        link = link[:-1]
    return link


def _looks_like_a_link(link: str) -> bool:
    parts = _split(link)
    if parts is None:
        return False
    if _EXPLICIT_SCHEME.match(link):
        return bool(parts.host) or parts.scheme in _SCRIPT_SCHEMES
    if _is_ip_address(parts.host):
        return all(int(octet) <= 255 for octet in parts.host.split("."))
    bare_tlds = load_link_rules().bare_domain_tlds
    userinfo = link.partition("@")[0] if parts.has_userinfo else ""
    # "zhang.san@qq.com" is an e-mail address; "chinatax.gov.cn@evil.com" is a disguise.
    if userinfo and _tld(userinfo.lower()) not in bare_tlds:
        return False
    return _tld(parts.host) in bare_tlds


def _split(link: str) -> Optional[_Parts]:
    explicit = _EXPLICIT_SCHEME.match(link)
    if explicit and explicit.group(2):
        return _Parts(scheme=explicit.group(2).lower(), host="", has_userinfo=False, decoy="")
    scheme = explicit.group(1).lower() if explicit else "http"
    # Browsers read a backslash as a slash: "evil.com\@chinatax.gov.cn" opens evil.com.
    url = (link if explicit else f"http://{link}").replace("\\", "/")
    try:
        parts = urlsplit(url)
        host = unquote(parts.hostname or "").rstrip(".").lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    userinfo, _, _ = parts.netloc.rpartition("@")
    return _Parts(scheme=scheme, host=host, has_userinfo=bool(userinfo), decoy=userinfo + parts.path)


# --- judging a link ---------------------------------------------------------------


def check_link(text: str, domains: Dict[str, str]) -> Optional[LinkVerdict]:
    """The verdict on the first link in `text` (a bare link or a sentence), or None.

    `domains` is official_domains(bank, bank_domain).
    """
    links = candidate_links(text)
    return _verdict(links[0], domains) if links else None


def _verdict(link: str, domains: Dict[str, str]) -> LinkVerdict:
    rules = load_link_rules()
    parts = _split(link)
    official_domain = _listed_domain(parts.host, domains)
    official = bool(official_domain) and parts.scheme in WEB_SCHEMES
    findings: List[Finding] = [] if parts.scheme in WEB_SCHEMES else [("other_scheme", {})]
    imitates = ""
    if official:
        findings.append(("official", {"owner": domains[official_domain], "domain": official_domain}))
    elif official_domain:
        pass  # an official host behind an odd scheme: the scheme is the whole story
    elif _under(parts.host, rules.government_suffixes):
        # Only government bodies can register these: no look-alike can hide here.
        findings.append(("government_unlisted", {}))
    elif parts.host:
        if not _is_ip_address(parts.host):
            imitates = _imitated_domain(parts, domains, rules.confusables)
        findings += _warnings(parts, imitates, domains, rules)
    reasons = [(rules.reasons[key], fields) for key, fields in findings]
    return LinkVerdict(
        url=link,
        host=parts.host,
        official=official,
        owner=domains[official_domain] if official else "",
        risk=max((reason.risk for reason, _ in reasons), key=RISK_LEVELS.index),
        reasons=tuple(reason.text.format(**fields) for reason, fields in reasons),
        patterns=tuple(key for key, _ in findings),
        imitates=imitates,
        findings=tuple((key, tuple(sorted(fields.items()))) for key, fields in findings),
    )


def _warnings(parts: _Parts, imitates: str, domains: Dict[str, str], rules: LinkRules) -> List[Finding]:
    """The scam patterns of a host that is not official, most telling first."""
    host = parts.host
    is_ip_address = _is_ip_address(host)
    findings: List[Finding] = [("ip_address", {})] if is_ip_address else []
    if parts.has_userinfo:
        findings.append(("userinfo", {}))
    if imitates:
        findings.append(("lookalike", {"owner": domains[imitates], "domain": imitates}))
    if not is_ip_address:
        readable = _decode_punycode(host)
        if readable != host or not host.isascii():
            findings.append(("internationalised", {}))
        if _under(host, rules.short_link_hosts):
            findings.append(("short_link", {}))
        if _tld(readable) in rules.risky_tlds:
            findings.append(("risky_tld", {"tld": _tld(readable)}))
    findings.append(("unlisted", {}))
    return findings


def _listed_domain(host: str, domains: Dict[str, str]) -> str:
    """The official domain `host` is, or is a subdomain of; "" if none."""
    return next((domain for domain in domains if _under(host, (domain,))), "")


def _under(host: str, suffixes) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)


def _tld(host: str) -> str:
    return host.rsplit(".", 1)[-1]


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_NUMERIC_HOST.fullmatch(host))


def _decode_punycode(host: str) -> str:
    """xn--80ak6aa92e.com -> the letters it shows in a browser (аррӏе.com)."""
    labels = []
    for label in host.split("."):
        try:
            labels.append(label.encode("ascii").decode("idna") if label.startswith("xn--") else label)
        except UnicodeError:
            labels.append(label)
    return ".".join(labels)


def _imitated_domain(parts: _Parts, domains: Dict[str, str], confusables: Dict[str, str]) -> str:
    """The official domain this host copies, "" if none.

    Compared after mapping look-alike characters to one form (1cbc = icbc): the official
    domain spelled inside the host (chinatax.gov.cn.xyz.com, icbc-com.cn) or planted in
    the userinfo or path; or the official name as a word of a label (icbc-95588.com),
    with words stuck on or a typo or two when the name is long (chinatax-gov.cn, chinatex.com).
    """
    skeleton = _skeleton_function(tuple(confusables.items()))
    host = _decode_punycode(parts.host)
    flat_host, flat_decoy = _flatten(skeleton(host)), _flatten(skeleton(parts.decoy))
    words = {
        skeleton(word)
        for label in host.split(".")[:-1]
        for word in (*re.split(r"[-_\d]+", label), *re.split(r"[-_]+", skeleton(label)))
        if word
    }
    for domain in domains:
        flat_domain = _flatten(skeleton(domain))
        if flat_domain in flat_host or flat_domain in flat_decoy:
            return domain
        name = skeleton(domain.split(".")[0])
        if any(_resembles(word, name) for word in words):
            return domain
    return ""


def _resembles(word: str, name: str) -> bool:
    if word == name:
        return True
    if len(name) < _FUZZY_MIN_LENGTH:
        return False
    typos = 2 if len(name) >= _TWO_TYPOS_MIN_LENGTH else 1
    return word.startswith(name) or word.endswith(name) or _edit_distance(word, name) <= typos


def _flatten(text: str) -> str:
    return re.sub(r"[.\-_/]", "", text)


@lru_cache(maxsize=4)
def _skeleton_function(confusables: Tuple[Tuple[str, str], ...]):
    """A function mapping text to one form for look-alike characters (longest match first)."""
    table = dict(confusables)
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: table[m.group()], text.lower())


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]
