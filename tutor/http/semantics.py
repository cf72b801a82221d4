"""What HTTP header values mean, for comparing them as HTTP does rather than as text. No Textual, no I/O.

- entity tags and their lists, compared weakly or strongly (RFC 9110 §8.8.3, §8.8.3.2, §13.1.1, §13.1.2)
- HTTP dates (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT` and the two obsolete forms
- Cache-Control directives as a set (RFC 9111 §5.2): names case-insensitive, arguments unquoted
- credentials in `Authorization` (RFC 9110 §11.4: the scheme is case-insensitive)
- cookies in `Cookie` and `Set-Cookie` (RFC 6265 §4.1, §4.2)
- Structured Fields (RFC 9651), read by member and parameter with `http_sf` (imported when used)
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

ETAG = re.compile(r'\s*(W/)?("[^"]*")\s*(,|$)')


def parse_etags(value: str) -> list[tuple[bool, str]] | None:
    """An `If-None-Match`/`If-Match` value or an `ETag`: [(weak, '"opaque"'), ...]; `[]` for `*`;
    None when it is not a list of entity tags (an unquoted value, say)."""
    text = value.strip()
    if text == "*":
        return []
    out: list[tuple[bool, str]] = []
    position = 0
    while position < len(text):
        match = ETAG.match(text, position)
        if match is None:
            return None
        out.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return out or None


def etag_list_matches(sent: str, etag: str, *, strong: bool) -> bool:
    """Whether the list `sent` (an If-None-Match or If-Match value) names `etag`: weak comparison
    ignores `W/` on both; strong comparison needs both strong and the same opaque tag. `*` is not a
    match here: it names no particular version."""
    wanted = parse_etags(etag)
    listed = parse_etags(sent)
    if not wanted or listed is None:
        return False
    weak_wanted, opaque = wanted[0]
    for weak, tag in listed:
        if tag != opaque:
            continue
        if not strong or not (weak or weak_wanted):
            return True
    return False


def is_entity_tag(value: str) -> bool:
    """One entity tag, strong or weak, with its double quotes (RFC 9110 §8.8.3)."""
    tags = parse_etags(value)
    return tags is not None and len(tags) == 1


def parse_http_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def same_date(a: str, b: str) -> bool:
    left, right = parse_http_date(a), parse_http_date(b)
    return left is not None and right is not None and left == right


def cache_directives(value: str | None) -> dict[str, str | None]:
    """`private, max-age=60` -> {'private': None, 'max-age': '60'} (names lower-cased, quotes removed)."""
    out: dict[str, str | None] = {}
    for part in (value or "").split(","):
        name, sep, argument = part.strip().partition("=")
        name = name.strip().lower()
        if name:
            out[name] = argument.strip().strip('"') if sep else None
    return out


def has_directive(directives: dict[str, str | None], wanted: str) -> bool:
    """`wanted` is a directive name (`no-cache`: any argument) or `name=value` (that argument only)."""
    name, sep, argument = wanted.strip().lower().replace(" ", "").partition("=")
    if name not in directives:
        return False
    if not sep:
        return True
    have = directives[name]
    return have is not None and have.lower() == argument.strip('"')


def credentials(authorization: str) -> tuple[str, str]:
    """`Bearer abc` -> ('bearer', 'abc'); the scheme lower-cased, the credentials as sent."""
    scheme, _, rest = authorization.strip().partition(" ")
    return scheme.lower(), rest.strip()


def cookies(header: str | None) -> dict[str, str]:
    """A `Cookie` request header: `a=1; b=2` -> {'a': '1', 'b': '2'} (the first of a name wins)."""
    out: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip() and name.strip() not in out:
            out[name.strip()] = value.strip()
    return out


def set_cookie(values: list[str], name: str) -> str | None:
    """The value a `Set-Cookie` header (one of `values`) gives the cookie `name`, or None."""
    for line in values:
        first = line.split(";", 1)[0]
        key, sep, value = first.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None


def structured(value: str, selector: str) -> Any:
    """A member or parameter of a Structured Field (RFC 9651) header value.

    `selector` is `[MEMBER][;PARAM]`: an empty MEMBER means the first member of a list (or the item
    itself); MEMBER names a dictionary key, or the list member whose bare item is that string or token:
    `"";q`, `bucket;q`, `fwd`. Raises ValueError when the value does not parse or has no such part."""
    import http_sf

    member, _, param = selector.partition(";")
    member, param = member.strip(), param.strip()
    raw = value.encode("latin-1", "replace")
    parsed: Any = None
    for kind in ("dictionary", "list", "item"):
        try:
            parsed = http_sf.parse(raw, tltype=kind)
            break
        except Exception:  # noqa: S112 - try the next top-level type; none fitting is reported below
            continue
    if parsed is None:
        raise ValueError(f"'{value}' is not a structured field value")
    item: Any
    if isinstance(parsed, dict):
        if not member:
            raise ValueError("a dictionary field needs a member name")
        if member not in parsed:
            raise ValueError(f"no member '{member}'")
        item = parsed[member]
    elif isinstance(parsed, list):
        if not parsed:
            raise ValueError("the list is empty")
        if not member:
            item = parsed[0]
        else:
            item = next((m for m in parsed if str(m[0]) == member), None)
            if item is None:
                raise ValueError(f"no member '{member}'")
    else:
        item = parsed
    bare, params = item if isinstance(item, tuple) else (item, {})
    if not param:
        return str(bare) if not isinstance(bare, (int, float, bool)) else bare
    if param not in params:
        raise ValueError(f"no parameter '{param}'")
    found = params[param]
    return str(found) if not isinstance(found, (int, float, bool)) else found
