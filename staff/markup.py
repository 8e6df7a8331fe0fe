"""HTML that escapes by default: every value put into a page is escaped unless it is
markup this package built itself.

    render("<td>{name}</td>", name=customer_text)   # escaped
    render("<div>{table}</div>", table=render(...))  # Html passes through

Customer-supplied text (messages, ids, channel names) reaches the pages only through
these functions, so forgetting to escape takes an explicit Html(...) in the code.
"""

import html
from typing import Any, Iterable


class Html(str):
    """Markup that is safe to insert as it is."""


def esc(value: Any) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def render(template: str, **values: Any) -> Html:
    """`template` (a str.format pattern written in this package) with every value escaped."""
    return Html(template.format(**{name: esc(value) for name, value in values.items()}))


def join(parts: Iterable[Any], separator: str = "") -> Html:
    return Html(separator.join(esc(part) for part in parts))
