"""The reader: what a customer's message shows, whatever its form and length.

`read_message(text)` finds the RED FLAGS of a scam (knowledge/rules/red_flags.yml), each
with the words of the message that show it, and the SIGNS of a genuine notice
(knowledge/rules/genuine_signs.yml). `number_question(text)` tells whether the message asks
if a phone number, or a kind of number, is real. core/verdict.py turns a reading and the
classifier's intents into the verdict. How it works and why: docs/reader.md.

Matching runs on a cleaned view of the text: full-width to ASCII, Traditional to
Simplified, lower case, and the spaces and symbols scammers put inside words (转 账, 微-信)
removed where they touch a Chinese character. Every position of the view maps back to the
original, so each quote is the customer's own words.

Pure Python: the rule files are read once, at first use.
"""

import bisect
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Pattern, Tuple

import yaml

from core import RULES
from core.directory import OfficialNumber, official_directory
from core.links import LinkVerdict, candidate_links, check_link, official_domains
from core.numbers import candidate_numbers, check_number, load_number_rules
from core.settings import Bank
from core.text import MAX_NLU_CHARS

RED_FLAGS_FILE = RULES / "red_flags.yml"
GENUINE_SIGNS_FILE = RULES / "genuine_signs.yml"

# Flags the code finds itself (links through core/links.py, numbers through
# core/numbers.py, claims through `claims:`), not through their own patterns.
LINK, IMPERSONATION, UNOFFICIAL_NUMBER = "link", "impersonation", "unofficial_number"
SIGN_IDS = ("official_sender", "official_channel", "safety_warning", "no_action")
# A flag of this weight is strong: alone it shows a risk (docs/reader.md).
STRONG = 3
MAX_QUOTE = 40
# How far around a match the warning frames are looked for (characters of the view).
LEADING_WINDOW = 120
TRAILING_WINDOW = 40

_CJK = "\u3400-\u9fff\uf900-\ufaff"
# Characters put inside words to dodge filters; removed where they touch a CJK character.
_FILLERS = " \t\u3000\u00a0\\-_·•・*~|/\\\\.'\"+^#`"
_INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2060\ufeff\u00ad"
_DROP = re.compile(
    rf"[{_INVISIBLE}]+|(?<=[{_CJK}])[{_FILLERS}]+|[{_FILLERS}]+(?=[{_CJK}])"
)
_CLAUSE_END = "，,。！!？?；;：:\n【】"
_SENTENCE_END = "。！!？?；;\n"
_CLAUSE_BREAK = re.compile(rf"[{_CLAUSE_END}]")
_SENTENCE_BREAK = re.compile(rf"[{_SENTENCE_END}]|\.(?=\s)")
# Where a quote stops in the original text: punctuation, quotes, brackets and spaces.
_QUOTE_STOP = set("，,。！!？?；;：:\n\r“”\"「」『』【】()（）<>《》 \t\u3000")
# Around a link, spaces do not end the clause: links usually stand between spaces.
_LINK_QUOTE_STOP = frozenset(_QUOTE_STOP - set(" \t\u3000"))
LINK_PLACEHOLDER = "[链接]"
_QUOTE_TRIM = " \t\u3000\"'“”‘’「」『』【】()（）《》<>，,。；;：:、"
_SENDER = re.compile(r"[【\[〔]([^【】\[\]〔〕\n]{2,24})[】\]〕]")
# Phone-like runs in the original text, masked ones included (170xxxx8826, 400-xxx-3120).
_PHONE = re.compile(r"(?<![A-Za-z0-9./@-])\+?\d[\d\- ]{1,6}(?:[xX*＊]{2,}[\d\- ]{0,4})?\d[\d\- ]{0,12}\d(?![A-Za-z0-9.@])")
_MASKED = re.compile(r"[xX*＊]{2,}")
_DIGIT_RUN = re.compile(r"\d{3,}")
# English patterns run only on a text with this many Latin letters (an English message).
_LATIN_LETTER = re.compile(r"[a-z]")
MIN_LATIN_LETTERS = 40
_CJK_CHAR = re.compile(f"[{_CJK}]")


# --- what a reading holds ---------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One red flag. `quote` is a short span of the customer's own message (at most
    MAX_QUOTE characters; links read [链接], digit runs that are not official numbers
    ×××); `start`/`end` the quoted span in the original text. `detail` says more where a
    flag has kinds: who an impersonation claims to be (police, tax…), a link's patterns."""

    id: str
    label: str
    weight: int
    quote: str
    start: int
    end: int
    detail: str = ""
    # The scam type this match points to, if any (red_flags.yml `type`), for type_hints.
    points_to: str = ""


@dataclass(frozen=True)
class Sign:
    """One sign of a genuine notice; `quote` is "" when the sign is an absence."""

    id: str
    label: str
    quote: str


@dataclass(frozen=True)
class NumberQuestion:
    """The message asks whether a number, or a kind of number, is real.

    `number` is the number asked about as dialled ("12366", "+0085212345678"), "" when
    only a pattern is described. `prefix` is the part the customer described when there
    is no full number ("+00", "00855", "170", "95588"). `pattern` is the number_rules.yml
    reason key the description names ("international", "hotline_with_extras", "mobile",
    "virtual_operator") or "" (for a full number, core/numbers.assess_number says it).
    `agency` the body the number claims to be, in the customer's words ("税务局"), or "".
    `story` is True when the rest of the message also tells a scam story.
    """

    number: str
    prefix: str
    pattern: str
    agency: str
    story: bool


@dataclass(frozen=True)
class Reading:
    text: str
    flags: Tuple[Flag, ...]
    signs: Tuple[Sign, ...]
    # The 【signature】 found ("" if none), and whether it names an official sender.
    sender: str
    sender_official: bool
    links: Tuple[LinkVerdict, ...]
    # Who the message claims to speak for (claims: `who` ids), first mention first.
    claims: Tuple[str, ...]
    # (scam type, score), best first: what the flags, claims and topic words point to.
    type_hints: Tuple[Tuple[str, int], ...]
    number_question: Optional[NumberQuestion] = None

    @property
    def score(self) -> int:
        """The flags' weights added up; an impersonation counts only beside another flag."""
        others = [flag for flag in self.flags if flag.id != IMPERSONATION]
        total = sum(flag.weight for flag in others)
        if others:
            total += sum(flag.weight for flag in self.flags if flag.id == IMPERSONATION)
        return total

    @property
    def strong(self) -> bool:
        return any(flag.weight >= STRONG for flag in self.flags)

    def flag(self, flag_id: str) -> Optional[Flag]:
        return next((flag for flag in self.flags if flag.id == flag_id), None)

    def sign(self, sign_id: str) -> Optional[Sign]:
        return next((sign for sign in self.signs if sign.id == sign_id), None)


# --- the rules --------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    regex: Pattern
    weight: int
    unless: Optional[Pattern]
    # Written in English: run only on a text with enough Latin letters.
    latin: bool
    # The scam type a match points to (the pattern's `type`, else the flag's), or "".
    points_to: str = ""
    # The first two characters (or the one) of the words one of which every match
    # holds: when none of them is in the text, the pattern is not run. A set lookup per
    # pattern instead of a scan: most patterns are skipped on most texts.
    keys: FrozenSet[str] = frozenset()


@dataclass(frozen=True)
class _FlagRule:
    id: str
    label: str
    weight: int
    request: bool
    scam_type: Optional[str]
    patterns: Tuple[_Pattern, ...]


@dataclass(frozen=True)
class _Claim:
    who: str
    name: str
    scam_type: Optional[str]
    words: Pattern
    # Whether a chat log's speaker label ("刘排长：") counts as this claim.
    speaker: bool
    # How a message written as this person starts ("爸，我是小磊"), or None.
    vocative: Optional[Pattern] = None


@dataclass(frozen=True)
class _Rules:
    flags: Dict[str, _FlagRule]
    claims: Tuple[_Claim, ...]
    claim_frames: Pattern
    topics: Pattern
    topic_types: Dict[str, Tuple[str, ...]]
    negators: Pattern
    negator_window: int
    near_negators: Pattern
    near_window: int
    prefix_end: Pattern
    own_plan: Pattern
    leading: Pattern
    trailing: Pattern
    right_after: Pattern
    senders: Pattern
    # sign id -> (label, ((pattern, written in English, keys as in _Pattern), …))
    signs: Dict[str, Tuple[str, Tuple[Tuple[Pattern, bool, FrozenSet[str]], ...]]]
    sender_domains: Tuple[Tuple[Pattern, Tuple[str, ...]], ...]
    aliases: Dict[str, str]


def _expand(pattern: str, aliases: Mapping[str, str]) -> str:
    def one(match):
        name = match.group(1)
        if name not in aliases:
            raise ValueError(f"red_flags.yml: unknown alias {{{name}}} in {pattern!r}")
        return aliases[name]

    # {name} is an alias; {2,3} and the like stay regex repetitions.
    return re.sub(r"\{([a-z_]+)\}", one, pattern)


def _compile(pattern: str, aliases: Mapping[str, str], where: str) -> Pattern:
    try:
        return re.compile(_as_tries(_expand(pattern, aliases)))
    except re.error as error:
        raise ValueError(f"{where}: bad pattern {pattern!r}: {error}") from error


# --- word lists as tries ----------------------------------------------------------
# Python's re tries the branches of "逮捕|通缉|拘留|…" one after another at every
# position; the same words as a trie ("逮捕|通(?:缉|…)|…") are tried once per first
# character. Same matches (the longest word where one is a prefix of another), about
# twice as fast on a long message. Only branches that are plain words are merged.

_META = set(".^$*+?{}[]\\|()")
_PLAIN_GROUP = re.compile(r"\(\?:([^()\[\]\\]*)\)")


def _is_word(branch: str) -> bool:
    return bool(branch) and not (set(branch) & _META)


def _trie_regex(words: List[str]) -> str:
    trie: Dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(char) + emit(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return (body if len(branches) > 1 else "(?:" + body + ")") + "?"
        return body

    return emit(trie)


def _merged(branches: List[str]) -> List[str]:
    words = [branch for branch in branches if _is_word(branch)]
    if len(words) < 3:
        return branches
    # Longest first inside the trie comes free; the other branches keep their order.
    return [_trie_regex(words)] + [branch for branch in branches if not _is_word(branch)]


def _top_level_branches(pattern: str) -> List[str]:
    branches, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        i += 1
    branches.append(pattern[start:])
    return branches


def _needed_keys(pattern: str) -> FrozenSet[str]:
    """The first two characters of the words one of which any match of `pattern` holds
    (see _Pattern.keys); empty when unknown.

    Each top-level branch contributes its most telling required part: a run of plain
    characters ("黑名单" in "(?:上|列入…)(?:征信)?黑名单") or a group of plain words that is
    not optional, whichever has the longest shortest word. A branch with neither leaves
    the pattern without keys."""
    needed: List[str] = []
    for branch in _top_level_branches(pattern):
        words = _required_words(branch)
        if not words:
            return frozenset()
        needed += words
    return frozenset(word[:2] for word in needed)


def _required_words(branch: str) -> List[str]:
    """The most telling part of one branch that every match holds (see _needed_keys)."""
    candidates: List[List[str]] = []
    run = ""

    def end_run(text: str) -> str:
        if text:
            candidates.append([text])
        return ""

    i = 0
    while i < len(branch):
        char = branch[i]
        if char == "\\" or char in ".^$|":
            run = end_run(run)
            i += 2 if char == "\\" else 1
        elif char == "[":
            run = end_run(run)
            i = branch.index("]", i + 2) + 1
        elif char == "(":
            run = end_run(run)
            j = _closing_parenthesis(branch, i)
            plain = _PLAIN_GROUP.fullmatch(branch[i:j + 1])
            optional = branch[j + 1:j + 2] in ("?", "*") or branch.startswith("{0", j + 1)
            if plain and not optional and all(_is_word(w) for w in plain.group(1).split("|")):
                candidates.append(plain.group(1).split("|"))
            i = j + 1
        elif char in "?*{+":
            # The character before is optional ("的?") or repeated: it ends the run.
            run = end_run(run if char == "+" else run[:-1])
            i = branch.index("}", i) + 1 if char == "{" else i + 1
        else:
            run += char
            i += 1
    end_run(run)
    if not candidates:
        return []
    return max(candidates, key=lambda words: (min(len(w) for w in words), -len(words)))


def _closing_parenthesis(pattern: str, start: int) -> int:
    depth, i = 0, start
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(pattern[i], 0)
        if depth == 0:
            return i
        i += 1
    raise ValueError(f"unbalanced parenthesis in {pattern!r}")


def _as_tries(pattern: str) -> str:
    """The pattern with its plain word lists (top level, innermost groups) as tries."""
    pattern = _PLAIN_GROUP.sub(lambda m: "(?:" + "|".join(_merged(m.group(1).split("|"))) + ")", pattern)
    return "|".join(_merged(_top_level_branches(pattern)))


_FLAG_KEYS = {"label", "weight", "request", "patterns", "type"}
_PATTERN_KEYS = {"re", "weight", "unless", "type"}


@lru_cache(maxsize=1)
def load_rules() -> _Rules:
    """Both rule files, checked and compiled once."""
    raw = yaml.safe_load(RED_FLAGS_FILE.read_text(encoding="utf-8"))
    genuine = yaml.safe_load(GENUINE_SIGNS_FILE.read_text(encoding="utf-8"))
    aliases = {str(name): str(text) for name, text in raw["aliases"].items()}
    for name, text in aliases.items():
        aliases[name] = _expand(text, aliases)

    flags = {}
    for flag_id, entry in raw["flags"].items():
        where = f"red_flags.yml flag {flag_id}"
        unknown = set(entry) - _FLAG_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        weight = int(entry["weight"])
        if not 1 <= weight <= STRONG or not str(entry["label"]).strip():
            raise ValueError(f"{where}: weight must be 1-{STRONG} and the label not empty")
        patterns = []
        for item in entry.get("patterns") or []:
            if isinstance(item, str):
                item = {"re": item}
            if set(item) - _PATTERN_KEYS or "re" not in item:
                raise ValueError(f"{where}: a pattern is a string or has the keys {sorted(_PATTERN_KEYS)}: {item}")
            unless = item.get("unless")
            regex = _compile(item["re"], aliases, where)
            patterns.append(
                _Pattern(
                    regex=regex,
                    weight=int(item.get("weight", weight)),
                    unless=_compile(unless, aliases, where) if unless else None,
                    latin=not re.search(f"[{_CJK}]", regex.pattern),
                    keys=_needed_keys(_expand(item["re"], aliases)),
                    points_to=str(item.get("type") or entry.get("type") or ""),
                )
            )
        flags[flag_id] = _FlagRule(
            id=flag_id,
            label=str(entry["label"]).strip(),
            weight=weight,
            request=bool(entry.get("request")),
            scam_type=entry.get("type"),
            patterns=tuple(patterns),
        )
    for needed in (LINK, IMPERSONATION, UNOFFICIAL_NUMBER):
        if needed not in flags:
            raise ValueError(f"red_flags.yml: flag {needed} is missing")

    claims = tuple(
        _Claim(
            who=str(entry["who"]),
            name=str(entry["name"]),
            scam_type=entry.get("type"),
            words=re.compile(_expand(str(entry["words"]), aliases)),
            speaker=bool(entry.get("speaker")),
            vocative=re.compile(str(entry["vocative"])) if entry.get("vocative") else None,
        )
        for entry in raw["claims"]
    )

    topic_types: Dict[str, List[str]] = {}
    for scam_type, words in raw["topics"].items():
        for word in words:
            topic_types.setdefault(str(word).lower(), []).append(str(scam_type))
    topics = re.compile("|".join(re.escape(w) for w in sorted(topic_types, key=len, reverse=True)))

    warning = raw["warning_frames"]
    signs = {}
    for sign_id, entry in genuine["signs"].items():
        compiled = []
        for pattern in entry["patterns"]:
            regex = _compile(pattern, aliases, f"genuine_signs.yml {sign_id}")
            latin = not re.search(f"[{_CJK}]", regex.pattern)
            compiled.append((regex, latin, _needed_keys(_expand(pattern, aliases))))
        signs[sign_id] = (str(entry["label"]).strip(), tuple(compiled))
    if set(signs) != set(SIGN_IDS) - {"official_sender"}:
        raise ValueError(f"genuine_signs.yml: signs must be exactly {SIGN_IDS[1:]}")
    return _Rules(
        flags=flags,
        claims=claims,
        claim_frames=re.compile(_expand(str(raw["claim_frames"]), aliases)),
        topics=topics,
        topic_types={word: tuple(types) for word, types in topic_types.items()},
        negators=re.compile(_expand(str(warning["negators"]), aliases)),
        negator_window=int(warning["negator_window"]),
        near_negators=re.compile(_expand(str(warning["near_negators"]), aliases)),
        near_window=int(warning["near_window"]),
        prefix_end=re.compile(_expand(str(warning["prefix_end"]), aliases)),
        own_plan=re.compile(_expand(str(warning["own_plan"]), aliases)),
        leading=re.compile(_expand(str(warning["leading"]), aliases)),
        trailing=re.compile(_expand(str(warning["trailing"]), aliases)),
        right_after=re.compile(_expand(str(warning["right_after"]), aliases)),
        senders=re.compile("|".join(f"(?:{p})" for p in genuine["official_senders"])),
        signs=signs,
        sender_domains=tuple(
            (re.compile(str(entry["sender"])), tuple(str(d).lower() for d in entry["domains"]))
            for entry in genuine["sender_domains"]
        ),
        aliases=aliases,
    )


# --- the cleaned view -------------------------------------------------------------


@lru_cache(maxsize=1)
def _table() -> Dict[int, str]:
    """One-to-one character mapping: full-width to ASCII, Traditional to Simplified
    (OpenCC's character table), upper to lower case, 帐 to 账."""
    table: Dict[int, str] = {}
    import opencc

    characters = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    for line in characters.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            simplified = parts[1].split(" ")[0]
            if len(simplified) == 1:
                table[ord(parts[0])] = simplified
    # Full-width letters, digits and symbols to ASCII; Chinese punctuation (，！？；：（）)
    # stays as it is: the patterns read it as the end of a clause.
    for code in range(0xFF01, 0xFF5F):
        if chr(code) not in "，！？；：（）":
            table[code] = chr(code - 0xFEE0)
    table[0x3000] = " "
    table[ord("\r")] = "\n"
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = chr(code + 32)
    for code in range(0xFF21, 0xFF3B):  # full-width capitals straight to lower case
        table[code] = chr(code - 0xFEE0 + 32)
    table.update({ord("帐"): "账", ord("帳"): "账", ord("祼"): "裸", ord("﹣"): "-", ord("—"): "-"})
    return table


@dataclass(frozen=True)
class _View:
    """`flat` is the original text mapped character for character (same length);
    `clean` is `flat` without the fillers, `starts` and `origins` map it back."""

    original: str
    flat: str
    clean: str
    starts: Tuple[int, ...]
    origins: Tuple[int, ...]

    def to_original(self, position: int) -> int:
        """The original index of the clean view's `position`."""
        i = bisect.bisect_right(self.starts, position) - 1
        return self.origins[i] + (position - self.starts[i])


def _view(text: str) -> _View:
    flat = text.translate(_table())
    pieces, starts, origins = [], [], []
    kept = 0
    position = 0
    for match in _DROP.finditer(flat):
        if match.start() > position:
            starts.append(kept)
            origins.append(position)
            pieces.append(flat[position:match.start()])
            kept += match.start() - position
        position = match.end()
    if position < len(flat) or not starts:
        starts.append(kept)
        origins.append(position)
        pieces.append(flat[position:])
    return _View(original=text, flat=flat, clean="".join(pieces), starts=tuple(starts), origins=tuple(origins))


# --- quotes -----------------------------------------------------------------------


def _quote_span(text: str, start: int, end: int, stops=frozenset(_QUOTE_STOP)) -> Tuple[int, int]:
    """The clause of `text` around [start, end), at most MAX_QUOTE characters."""
    left = start
    while left > 0 and text[left - 1] not in stops and start - left < MAX_QUOTE:
        left -= 1
    right = end
    while right < len(text) and text[right] not in stops and right - end < MAX_QUOTE:
        right += 1
    if right - left > MAX_QUOTE:
        # Keep the match, then share what is left of the room between both sides.
        room = max(MAX_QUOTE - (end - start), 0)
        left = max(left, start - room // 2)
        right = min(right, left + max(MAX_QUOTE, end - start))
        right = min(right, start + MAX_QUOTE) if end - start > MAX_QUOTE else right
    return left, right


def _safe_quote(text: str, directory: Mapping[str, OfficialNumber]) -> str:
    """A quote fit to repeat: links as [链接], digit runs that are not official numbers
    as × (the reply may only say official numbers), outer punctuation trimmed."""
    for link, _ in _candidate_links(text):
        text = text.replace(link, LINK_PLACEHOLDER)

    def digits(match):
        run = match.group()
        return run if run in directory else "×" * min(len(run), 4)

    return _DIGIT_RUN.sub(digits, text).strip(_QUOTE_TRIM)


def _quote(view: _View, start: int, end: int, directory) -> Tuple[str, int, int]:
    """Quote for the clean-view match [start, end): the customer's own words."""
    o_start = view.to_original(start)
    o_end = view.to_original(max(end - 1, start)) + 1
    left, right = _quote_span(view.original, o_start, o_end)
    return _safe_quote(view.original[left:right], directory), left, right


# --- warning frames ---------------------------------------------------------------

_OPENING, _CLOSING = "“「『‘\"'", "”」』’\"'"
_QUESTION = re.compile(r"[吗吧么嘛?？]|对不对|是不是|对吗")


def _clause_start(clean: str, position: int) -> int:
    breaks = [m.end() for m in _CLAUSE_BREAK.finditer(clean, max(0, position - 200), position)]
    return breaks[-1] if breaks else max(0, position - 200)


def _sentence_bounds(clean: str, start: int, end: int) -> Tuple[int, int]:
    before = [m.end() for m in _SENTENCE_BREAK.finditer(clean, max(0, start - LEADING_WINDOW), start)]
    left = before[-1] if before else max(0, start - LEADING_WINDOW)
    after = _SENTENCE_BREAK.search(clean, end, end + TRAILING_WINDOW)
    right = after.start() if after else min(len(clean), end + TRAILING_WINDOW)
    return left, right


# A request that is itself a prohibition: its negation is the request, not a warning.
_PROHIBITION = re.compile(r"不|别|勿|莫|千万|do not|don'?t|never", re.IGNORECASE)


def _in_warning(clean: str, start: int, end: int, request: bool, rules: _Rules) -> bool:
    """Is the match [start, end) said as a warning, not asked by the other side?

    A request is cancelled by a negation just before it in its clause ("不会要求您转账",
    "请勿向他人提供验证码"), across its start ("无需付款": the request matched at "需")
    or inside it after its first character ("验证码123456切勿转发").
    Any flag is cancelled by a frame in its sentence: "凡是/任何人/如有人…" before it, or a
    conclusion after it ("…的都是诈骗", not the question "是诈骗吗").
    """
    if request:
        clause = _clause_start(clean, start)
        window = max(clause, start - rules.negator_window)
        if rules.negators.search(clean[window:start]) or rules.negators.search(clean, start + 1, end):
            return True
        # Across its start, unless the request is itself a "don't" ("千万不要挂电话").
        if not _PROHIBITION.match(clean, start) and any(
                m.start() < start for m in rules.negators.finditer(clean, window, end)):
            return True
        near = clean[max(clause, start - rules.near_window):start]
        if rules.near_negators.search(near) or rules.near_negators.search(clean, start + 1, end):
            return True
        if rules.prefix_end.search(near):
            return True
        plan = rules.own_plan.search(near)
        if plan and (plan.group() != "我" or _starts_with_a_wish(clean, start)):
            return True
    left, right = _sentence_bounds(clean, start, end)
    if rules.leading.search(clean, left, start) or rules.right_after.match(clean, end):
        return True
    conclusion = rules.trailing.search(clean, end, right)
    # "…是诈骗，对吗？" asks; "…的都是诈骗。" warns.
    return bool(conclusion) and not _QUESTION.search(clean, conclusion.end(), conclusion.end() + 6)


_WISHES = ("要", "想", "准备", "打算")


def _starts_with_a_wish(clean: str, start: int) -> bool:
    """"要转账给我妈" after "我": the customer's wish, unless it is "要你…" (an order)."""
    for wish in _WISHES:
        if clean.startswith(wish, start):
            return clean[start + len(wish):start + len(wish) + 1] not in ("你", "您")
    return False


def _mentioned(clean: str, start: int, end: int) -> bool:
    """Is the match a word in quotes ("看到“安全账户”就吓坏了"): named, not asked for?"""
    return start > 0 and end < len(clean) and clean[start - 1] in _OPENING and clean[end] in _CLOSING


# --- reading ----------------------------------------------------------------------


@dataclass
class _Context:
    bank: Bank
    domains: Dict[str, str]
    directory: Dict[str, OfficialNumber]


@lru_cache(maxsize=8)
def _context(bank: Bank, bank_domain: str) -> _Context:
    return _Context(bank=bank, domains=official_domains(bank, bank_domain), directory=official_directory(bank))


def _default_bank() -> Tuple[Bank, str]:
    from core.settings import settings

    current = settings()
    return current.bank, current.bank_domain


def read_message(text: str, bank: Optional[Bank] = None, bank_domain: Optional[str] = None) -> Reading:
    """Red flags with their quotes, genuine signs, links and the number question of `text`.

    `bank` and `bank_domain` default to the configured ones (core/settings.py): the
    bank's name counts as an official sender, its hotline and domain as official.
    Only the first MAX_NLU_CHARS characters are read.
    """
    if bank is None or bank_domain is None:
        default_bank, default_domain = _default_bank()
        bank = bank or default_bank
        bank_domain = default_domain if bank_domain is None else bank_domain
    context = _context(bank, bank_domain)
    rules = load_rules()
    text = (text or "")[:MAX_NLU_CHARS]
    view = _view(text)

    found: Dict[str, Flag] = {}

    def keep(flag: Flag) -> None:
        current = found.get(flag.id)
        if current is None or flag.weight > current.weight:
            found[flag.id] = flag

    letters = len(_LATIN_LETTER.findall(view.clean))
    grams = _grams(view.clean)
    latin_text = letters >= MIN_LATIN_LETTERS or (
        letters >= MIN_LATIN_LETTERS // 4 and letters > 2 * len(_CJK_CHAR.findall(view.clean))
    )
    for rule in rules.flags.values():
        if rule.id != UNOFFICIAL_NUMBER:
            _find_flag(view, rule, latin_text, rules, context, keep, grams)

    sender, sender_official = _sender(view, rules, bank)
    signs: List[Sign] = []
    links = _links(text, view, context, rules, sender, keep)
    claims = _claims(view, rules, context, keep)
    _numbers(view, rules, context, keep, signs)
    for sign_id, (label, patterns) in rules.signs.items():
        for regex, latin, keys in patterns:
            if (latin and not latin_text) or (keys and keys.isdisjoint(grams)):
                continue
            match = regex.search(view.clean)
            if match:
                quote, _, _ = _quote(view, match.start(), match.end(), context.directory)
                signs.append(Sign(sign_id, label, quote))
                break
    if sender_official:
        shown = f"【{_safe_quote(sender, context.directory)}】"
        signs.append(Sign("official_sender", f"短信署名{shown}是正规单位的署名（署名也可能被冒用）。", shown))
    if any(link.official for link in links):
        signs.append(Sign("official_channel", rules.signs["official_channel"][0], LINK_PLACEHOLDER))
    # One sign of each kind (the first found), in SIGN_IDS order.
    first = {}
    for sign in signs:
        first.setdefault(sign.id, sign)
    signs = sorted(first.values(), key=lambda sign: SIGN_IDS.index(sign.id))

    flags = sorted(found.values(), key=lambda flag: (-flag.weight, flag.start))
    reading = Reading(
        text=text,
        flags=tuple(flags),
        signs=tuple(signs),
        sender=sender,
        sender_official=sender_official,
        links=tuple(links),
        claims=tuple(claims),
        type_hints=_type_hints(view, rules, claims, flags),
    )
    question = _number_question(view, reading, rules, context)
    if question is not None:
        reading = replace(reading, number_question=question)
    return reading


def _grams(clean: str) -> FrozenSet[str]:
    """Every character and every pair of neighbouring characters of the text."""
    grams = set(clean)
    grams.update(map("".join, zip(clean, clean[1:])))
    return frozenset(grams)


def _find_flag(view: _View, rule: _FlagRule, latin_text: bool, rules: _Rules, context: "_Context", keep, grams) -> None:
    """The strongest match of `rule` not said as a warning; the first one among equals.

    One regex per pattern: Python's re scans a pattern that starts with literal words
    fast, and an alternation of whole patterns slowly (4x on a 1,500-character text)."""
    best = 0
    clean = view.clean
    for pattern in rule.patterns:
        if pattern.weight <= best or (pattern.latin and not latin_text):
            continue
        if pattern.keys and pattern.keys.isdisjoint(grams):
            continue
        for match in pattern.regex.finditer(clean):
            if match.end() == match.start():
                continue
            if pattern.unless and pattern.unless.search(clean, *_sentence_bounds(clean, match.start(), match.end())):
                continue
            if _in_warning(clean, match.start(), match.end(), rule.request, rules):
                continue
            if _mentioned(clean, match.start(), match.end()):
                continue
            quote, start, end = _quote(view, match.start(), match.end(), context.directory)
            keep(Flag(rule.id, rule.label, pattern.weight, quote, start, end, points_to=pattern.points_to))
            best = pattern.weight
            break
        if best >= rule.weight:
            return


def _clause_end(clean: str, position: int) -> int:
    match = _CLAUSE_BREAK.search(clean, position)
    return match.start() if match else len(clean)


def _sender(view: _View, rules: _Rules, bank: Bank) -> Tuple[str, bool]:
    """The first 【signature】, preferring an official one."""
    first = ""
    for match in _SENDER.finditer(view.flat):
        name = match.group(1).strip()
        if rules.senders.fullmatch(name) or (bank.name and bank.name in name):
            return name, True
        first = first or name
    return first, False


# A link is a run of non-CJK, non-space characters holding a dot (or 。) between letters,
# or a scheme. core/links.py reads each such run alone: on a long Chinese text that is
# ten times faster than reading the whole text, and finds the same links.
_LINKISH_RUN = re.compile(r"[^\s，！？；：、“”‘’（）【】「」《》\u3000-\u3001\u3003-\u303f\u3400-\u9fff]+")
_LINKISH_CHAR = re.compile(r"[^\s，！？；：、“”‘’（）【】「」《》\u3000-\u3001\u3003-\u303f\u3400-\u9fff]")
_MAY_BE_A_LINK = re.compile(r"[A-Za-z0-9\-][.。][A-Za-z]|://|javascript:|data:", re.IGNORECASE)
_DOT_BETWEEN_LETTERS = re.compile(r"(?<=[A-Za-z0-9])。(?=[A-Za-z0-9])")


def _candidate_links(text: str) -> List[Tuple[str, int]]:
    """(link, where it starts in `text`), as core/links.candidate_links finds them."""
    found: Dict[str, int] = {}
    # 。 between letters is a dot to a browser ("icbc。com"); one character for one.
    dotted = _DOT_BETWEEN_LETTERS.sub(".", text) if "。" in text else text
    done_until = -1
    for hint in _MAY_BE_A_LINK.finditer(dotted):
        if hint.start() < done_until:
            continue
        start = hint.start()
        while start > 0 and _LINKISH_CHAR.match(dotted, start - 1):
            start -= 1
        run = _LINKISH_RUN.match(dotted, start)
        if run is None:
            continue
        done_until = run.end()
        piece = run.group()
        for link in candidate_links(piece):
            found.setdefault(link, start + max(piece.find(link), 0))
    return list(found.items())


def _links(text, view, context, rules, sender, keep) -> List[LinkVerdict]:
    verdicts = []
    for link, start in _candidate_links(text):
        verdict = check_link(link, context.domains)
        if verdict is None:
            continue
        verdicts.append(verdict)
        if verdict.official or verdict.risk == "low":
            continue
        if sender and _senders_own_site(sender, verdict.host, rules) and "lookalike" not in verdict.patterns:
            continue
        left, right = _quote_span(text, start, start + len(link), _LINK_QUOTE_STOP)
        quote = _safe_quote(text[left:right], context.directory) or LINK_PLACEHOLDER
        weight = STRONG if verdict.risk == "high" else rules.flags[LINK].weight
        keep(Flag(LINK, rules.flags[LINK].label, weight, quote, left, right, ",".join(verdict.patterns)))
    return verdicts


def _senders_own_site(sender: str, host: str, rules: _Rules) -> bool:
    for names, domains in rules.sender_domains:
        if names.search(sender.lower()):
            if any(host == d or host.endswith("." + d) for d in domains):
                return True
    return False


# A chat log's speaker label: "刘排长：", "公安局装备科（加的微信）：" at the start of a turn.
_SPEAKER = re.compile(r"(?:^|(?<=[\s，。！？；]))([^\s，。！？；：:]{1,14})[：:]")
# The claimed role comes this soon after "我是/说是/自称…".
CLAIM_REACH = 12


def _claims(view, rules, context, keep) -> List[str]:
    """Who the message claims to speak for, first mention first: "我是/自称/说是…" (the
    claim_frames) followed within CLAIM_REACH characters of the clause by a role, or a
    chat log's speaker label naming a role. The first claim becomes the impersonation flag."""
    clean = view.clean
    found: Dict[str, Tuple[int, int]] = {}
    for frame in rules.claim_frames.finditer(clean):
        stop = min(_clause_end(clean, frame.end()), frame.end() + CLAIM_REACH + 8)
        for claim in rules.claims:
            if claim.who in found:
                continue
            role = claim.words.search(clean, frame.end(), stop)
            if role and role.start() <= frame.end() + CLAIM_REACH:
                if not _in_warning(clean, frame.start(), role.end(), False, rules):
                    found[claim.who] = (frame.start(), role.end())
    for claim in rules.claims:
        if claim.vocative is not None and claim.who not in found:
            call = claim.vocative.search(clean)
            if call:
                found[claim.who] = call.span()
    for label in _SPEAKER.finditer(clean):
        for claim in rules.claims:
            if claim.speaker and claim.who not in found and claim.words.search(label.group(1)):
                found[claim.who] = (label.start(1), label.end(1))
    ordered = sorted(found.items(), key=lambda item: item[1][0])
    if ordered:
        who, (start, end) = ordered[0]
        rule = rules.flags[IMPERSONATION]
        quote, q_start, q_end = _quote(view, start, end, context.directory)
        keep(Flag(IMPERSONATION, rule.label, rule.weight, quote, q_start, q_end, who))
    return [who for who, _ in ordered]


# "请联系理赔专员170xxxx6610", "Contact Officer Li at 0085…": the cue is this close.
CALL_CUE_REACH = 24


def _numbers(view, rules, context, keep, signs) -> None:
    """Numbers to call: official ones are a sign, others (and masked ones) a flag when
    the message tells the customer to call or contact them."""
    cue = rules.flags[UNOFFICIAL_NUMBER].patterns[0].regex if rules.flags[UNOFFICIAL_NUMBER].patterns else None
    for match in _PHONE.finditer(view.flat):
        raw = match.group()
        masked = bool(_MASKED.search(raw))
        if not masked:
            tail = view.flat[match.start(): match.end() + 3]
            if not candidate_numbers(tail):
                continue
        digits = re.sub(r"[^\d+]", "", raw)
        check = None if masked else check_number(digits, context.directory)
        if check is not None and check.official:
            left, right = _quote_span(view.original, match.start(), match.end())
            signs.append(
                Sign("official_channel", rules.signs["official_channel"][0], _safe_quote(view.original[left:right], context.directory))
            )
            continue
        if len(digits.lstrip("+")) < 5 and not masked:
            continue
        before = view.flat[max(0, match.start() - CALL_CUE_REACH): match.start()]
        clause_cut = max(before.rfind(c) for c in "。！？；\n")
        before = before[clause_cut + 1:]
        if cue is None or not cue.search(before):
            continue
        if rules.negators.search(before[-6:]):
            continue
        left, right = _quote_span(view.original, match.start(), match.end())
        rule = rules.flags[UNOFFICIAL_NUMBER]
        keep(Flag(UNOFFICIAL_NUMBER, rule.label, rule.weight, _safe_quote(view.original[left:right], context.directory), left, right))
        return


def _type_hints(view, rules, claims, flags) -> Tuple[Tuple[str, int], ...]:
    """What the message points to: each claim +2 to its type, each flagged type +2,
    each distinct topic word +1 (at most 3 per type)."""
    scores: Dict[str, int] = {}
    seen_words: Dict[str, set] = {}
    for match in rules.topics.finditer(view.clean):
        for scam_type in rules.topic_types[match.group()]:
            seen_words.setdefault(scam_type, set()).add(match.group())
    for scam_type, words in seen_words.items():
        scores[scam_type] = min(len(words), 3)
    by_who = {claim.who: claim.scam_type for claim in rules.claims}
    for who in dict.fromkeys(claims):
        scam_type = by_who.get(who)
        if scam_type:
            scores[scam_type] = scores.get(scam_type, 0) + 2
    for flag in flags:
        if flag.points_to:
            scores[flag.points_to] = scores.get(flag.points_to, 0) + 2
    return tuple(sorted(scores.items(), key=lambda item: (-item[1], item[0])))


# --- number questions -------------------------------------------------------------

_ASKS = re.compile(
    r"吗|么|嘛|[?？]|是不是|是否|可信|可靠|靠谱|靠得住|能信|信得过|真的假的|真假|是真的|真是|正规|正常不|"
    r"官方的|官方号|对不对|有没有问题|会不会|能不能接|要不要接|什么号|哪里的号|谁的号|能接吗|"
    r"\b(?:real|legit|genuine|official|trust)\b"
)
_AUTHENTIC = re.compile(
    r"是真的|真的假的|真假|真是|官方(?:的|号|电话|热线|客服号)|是官方|正规|可信|靠谱|靠得住|能信|信得过|正常不|正常吗|是骗子|骗子的|诈骗电话|"
    r"\b(?:real|really|legit|genuine|official|trust|scam)\b"
)
_NUMBER_WORDS = re.compile(r"号码|号|电话|来电|打来|打给|热线|手机|座机|短信发件|发件|呼叫|number|call")
_MESSAGE_WORDS = re.compile(r"短信|消息|通知|信息|这条|链接|网址|邮件")
_CLAIMS_TO_BE = re.compile(
    r"说是|说自己是|说他是|说她是|自称|冒充|显示|打来|来电|号称|声称|称是|就是|\b(?:saying|says|said|claim\w*|pretend\w*)\b"
)
_INTERNATIONAL = re.compile(r"(\+?00\d{0,4}|\+\d{1,4})\s*(?:开头|打头|的号|号码|打来|的)|(?:starting with|starts with|begins with|beginning with)\s*(\+?00\d{0,4}|\+\d{1,4})|(?:境外|国外|海外)(?:来电|号码|电话|的号|号)|显示(?:境外|国外|海外)")
_EXTRAS = re.compile(r"(\d{3,5})\s*(?:后面|前面|前后|后边|前边)?(?:还|又)?(?:带|加|跟|多|有|接)了?(?:一串|一长串|几位|好几位|一些|很多|个|些|一堆)?(?:数字|号码|位数|分机|位)|(\d{5})\s*开头的?(?:长|一长串|一串)")
_MOBILE_PREFIX = re.compile(r"(?<!\d)(1[3-9]\d)\s*(?:开头|打头|号段)")
_OTHER_PREFIX = re.compile(r"(?<![\d+])(\d{3,5})\s*(?:开头|打头)")
# The next sentence may ask about the number: "…called from 170…. Can I trust this number?"
_THIS_NUMBER = re.compile(r"这个?号|这个电话|这个来电|这号|该号码|\b(?:this|that|the|their|his|her)\b[^.?!]{0,20}\b(?:number|call)\b")
_MOBILE_WORD = re.compile(r"手机号|手机号码|个手机")
_CALL_INSTRUCTION = re.compile(r"请(?:致电|拨打|联系|咨询)|致电|拨打|咨询电话|客服电话|热线|\bcall\b|\bdial\b")
_HAS_DIGITS = re.compile(r"\d{3}")
_MAY_NAME_A_NUMBER = re.compile(r"\d{3}|\+\d|00|手机号|个手机|境外|国外|海外")
# A question about a number is one short sentence; a longer one is a pasted message.
MAX_QUESTION_SENTENCE = 160
# What the customer asks about a number is this close to it (characters before, after).
NEAR_NUMBER_BEFORE, NEAR_NUMBER_AFTER = 20, 60
# Only a short message is a question without a question word ("+00开头的号码说是公安").
SHORT_MESSAGE = 60
# Flags that a number question carries by itself: they do not make a scam story.
_NOT_A_STORY = (IMPERSONATION, UNOFFICIAL_NUMBER, "deadline", "private_contact")
_AGENCY_EXTRA = (
    "|\\b(?:police|tax|bank|icbc|social security|courier|bureau|embassy|customs|court|hospital)\\b"
)
_AGENCY_EXTRA_ZH = "|大使馆|领事馆|海关|移民局|银行|工行|建行|农行|中行|招行|交行|邮储|反诈中心|运营商|航空公司"


def number_question(text: str, bank: Optional[Bank] = None, bank_domain: Optional[str] = None) -> Optional[NumberQuestion]:
    """Does `text` ask whether a number or a kind of number is real? See NumberQuestion."""
    return read_message(text, bank, bank_domain).number_question


def _number_question(view: _View, reading: Reading, rules: _Rules, context: _Context) -> Optional[NumberQuestion]:
    flat = view.flat
    if not _MAY_NAME_A_NUMBER.search(flat):
        return None
    agency_words = _agency_words(rules)
    sentences = list(_sentences(flat))
    for index, sentence in enumerate(sentences):
        if len(sentence) > MAX_QUESTION_SENTENCE or not _MAY_NAME_A_NUMBER.search(sentence):
            continue
        if not (_ASKS.search(sentence) or _AUTHENTIC.search(sentence) or _CLAIMS_TO_BE.search(sentence)):
            continue
        numbers = candidate_numbers(sentence) if _HAS_DIGITS.search(sentence) else []
        # A full number is one of 5+ digits, an official one (110) or one with a + or 00
        # prefix: "交1280" or "3000" are amounts.
        numbers = [
            n for n in numbers
            if (len(n.lstrip("+")) >= 5 or n.startswith(("+", "00")) or n in context.directory)
            and not _told_to_call(sentence, n)
        ]
        prefix, pattern = _described_pattern(sentence, context)
        if not numbers and not prefix and not (pattern == "mobile"):
            continue
        # What is said about the number is said near it.
        anchor = _anchor(sentence, numbers, prefix)
        near = sentence[max(0, anchor - NEAR_NUMBER_BEFORE): anchor + NEAR_NUMBER_AFTER]
        following = sentences[index + 1] if index + 1 < len(sentences) else ""
        if len(following) <= NEAR_NUMBER_AFTER and _THIS_NUMBER.search(following):
            near += following
        asks = bool(_ASKS.search(near))
        agency = agency_words.search(near)
        # "12366是税务局的电话吗", "95588后面带数字…是真的吗", and in a short message
        # "有个+00开头的号码说是公安局的"; not "上面是不是你老婆的手机号" (no agency, nothing
        # about being real). An official number names its owner: "110会主动给人打电话吗".
        official = any(check_number(n, context.directory).official for n in numbers)
        claims = len(flat) <= SHORT_MESSAGE and bool(_CLAIMS_TO_BE.search(near))
        if not (_AUTHENTIC.search(near) or ((agency or official) and (asks or claims))):
            continue
        about_number = bool(_NUMBER_WORDS.search(sentence)) or bool(
            numbers and sentence.lstrip(" ，,:：").startswith(numbers[0].lstrip("+")[:3])
        )
        if not about_number and not prefix:
            continue
        if _SENDER.search(sentence) and not re.search(r"这个?号|这个电话|这号|号码", sentence):
            continue
        if _MESSAGE_WORDS.search(sentence) and not re.search(r"号码|这个?号|电话|来电|发件", sentence):
            continue
        # "95588后面带一串数字", "170开头": the digits found are the prefix, not a number.
        numbers = [n for n in numbers if n.lstrip("+") != prefix.lstrip("+")]
        story_flags = [f for f in reading.flags if f.id not in _NOT_A_STORY]
        return NumberQuestion(
            number=numbers[0] if numbers else "",
            prefix=prefix,
            pattern=pattern,
            agency=agency.group() if agency else "",
            story=sum(f.weight for f in story_flags) >= STRONG,
        )
    return None


@lru_cache(maxsize=1)
def _agency_words_of(claim_words: Tuple[str, ...]) -> Pattern:
    return re.compile(_as_tries("|".join(claim_words) + _AGENCY_EXTRA_ZH) + _AGENCY_EXTRA)


# The claims that are agencies a number can belong to (not relatives or bosses).
_AGENCIES = ("police", "tax", "social_security", "bank", "platform", "utility")


def _agency_words(rules: _Rules) -> Pattern:
    return _agency_words_of(tuple(claim.words.pattern for claim in rules.claims if claim.who in _AGENCIES))


def _anchor(sentence: str, numbers: List[str], prefix: str) -> int:
    """Where the number (or the described prefix) is in the sentence."""
    for needle in (numbers[0].lstrip("+")[:5] if numbers else "", prefix.lstrip("+")):
        # Digits as written: "0731-12333" is the candidate "073112333".
        match = re.search(r"[\s\-]?".join(needle), sentence) if needle else None
        if match:
            return match.start()
    match = _MOBILE_WORD.search(sentence) or _INTERNATIONAL.search(sentence)
    return match.start() if match else 0


def _told_to_call(sentence: str, number: str) -> bool:
    """Is `number` what a pasted message tells the reader to call ("如有疑问请拨打12333"),
    rather than the number asked about?"""
    at = sentence.find(number.lstrip("+")[:3])
    return at >= 0 and bool(_CALL_INSTRUCTION.search(sentence[max(0, at - 8):at]))


def _sentences(text: str) -> Iterable[str]:
    start = 0
    for match in _SENTENCE_BREAK.finditer(text):
        if match.start() > start:
            yield text[start:match.end()]
        start = match.end()
    if start < len(text):
        yield text[start:]


def _described_pattern(sentence: str, context: _Context) -> Tuple[str, str]:
    """(prefix, number_rules key) of a number the customer describes without giving it."""
    match = _INTERNATIONAL.search(sentence)
    if match:
        prefix = (match.group(1) or match.group(2) or "").replace(" ", "")
        if prefix.startswith(("+86", "0086")):
            return prefix, ""
        return prefix or "+", "international"
    match = _EXTRAS.search(sentence)
    if match:
        hotline = match.group(1) or match.group(2)
        if hotline in context.directory:
            return hotline, "hotline_with_extras"
    match = _MOBILE_PREFIX.search(sentence)
    if match:
        prefix = match.group(1)
        virtual = prefix in load_number_rules().virtual_operator_prefixes
        return prefix, "virtual_operator" if virtual else "mobile"
    if _MOBILE_WORD.search(sentence):
        return "", "mobile"
    match = _OTHER_PREFIX.search(sentence)
    if match:
        return match.group(1), ""
    return "", ""
