"""curl commands in and out: a pasted `curl ...` becomes the request it sends, and a request becomes the
curl command that sends the same thing (every header and cookie included). No Textual.

    spec = parse_curl("curl -i -X POST http://127.0.0.1:8765/v1/books -H 'Content-Type: application/json' "
                      "-d '{\\"title\\": \\"Dune\\"}'", base_url="http://127.0.0.1:8765")
    to_curl(spec, "http://127.0.0.1:8765")     # the same request as a command line

Only what changes the request is taken (method, URL, headers, body, cookies, basic auth); options that
change what curl prints or how it connects (-i, -s, -v, -L, -o FILE, -w FORMAT, --max-time ...) are
ignored. Anything else is refused with a sentence that says what and why: a file (`-d @body.json`, a
cookie jar read with `-b jar.txt`), a shell variable, a second command after `|` or `;`.
"""

from __future__ import annotations

import base64
import re
import shlex
from urllib.parse import quote_plus, urlsplit

from tutor.http.request import RequestSpec, header

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

# Options with no value that do not change the request: what curl prints, how it connects, retries.
_IGNORED_FLAGS = frozenset(
    {
        "-i", "--include", "-s", "--silent", "-S", "--show-error", "-v", "--verbose", "-L", "--location",
        "-k", "--insecure", "--compressed", "-f", "--fail", "--fail-with-body", "-N", "--no-buffer",
        "--http1.0", "--http1.1", "--http2", "-#", "--progress-bar", "-g", "--globoff", "--no-progress-meter",
        "-0", "-4", "-6", "--raw", "--tr-encoding", "-j", "--junk-session-cookies", "-O", "--remote-name",
    }
)  # fmt: skip
# Options with a value that do not change the request (the value is skipped).
_IGNORED_WITH_VALUE = frozenset(
    {
        "-o", "--output", "-w", "--write-out", "-m", "--max-time", "--connect-timeout", "--retry",
        "--retry-delay", "--retry-max-time", "-c", "--cookie-jar", "-D", "--dump-header", "--trace",
        "--trace-ascii", "--stderr", "--limit-rate", "-r", "--range", "-y", "--speed-time", "-Y", "--speed-limit",
    }
)  # fmt: skip
_DATA = {"-d": "data", "--data": "data", "--data-ascii": "data", "--data-binary": "binary", "--data-raw": "raw"}
_WITH_VALUE = {
    "-X", "--request", "-H", "--header", "-b", "--cookie", "-u", "--user", "-A", "--user-agent",
    "-e", "--referer", "--url", "--json", "--data-urlencode", *_DATA, *_IGNORED_WITH_VALUE,
}  # fmt: skip
_SHORT_FLAGS_WITHOUT_VALUE = {flag[1] for flag in _IGNORED_FLAGS | {"-I", "-G"} if len(flag) == 2}
_SHELL_VARIABLE = re.compile(r"\$(\{?[A-Za-z_][A-Za-z0-9_]*\}?|\()")


class CurlError(ValueError):
    """A curl command the workbench cannot send as it is; the message says what to change."""


def looks_like_curl(text: str) -> bool:
    return text.lstrip().startswith("curl ") or text.strip() == "curl"


def _words(command: str) -> list[str]:
    # a command copied from a page or a terminal: line continuations (`\` then newline) are one line
    joined = re.sub(r"\\\r?\n", " ", command.strip())
    joined = " ".join(line.strip() for line in joined.splitlines())
    try:
        lexer = shlex.shlex(joined, posix=True, punctuation_chars="|;&<>")
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError as exc:  # No closing quotation
        raise CurlError(f"The curl command is cut short: {exc} (a quote is not closed).") from None


def _expand_short_cluster(word: str) -> list[str]:
    """`-sSi` is `-s -S -i`; `-XPOST` is `-X POST`; `-H'A: b'` is `-H 'A: b'` (curl reads them so)."""
    if not word.startswith("-") or word.startswith("--") or len(word) <= 2:
        return [word]
    letter = word[1]
    if f"-{letter}" in _WITH_VALUE:
        return [f"-{letter}", word[2:]]
    if all(c in _SHORT_FLAGS_WITHOUT_VALUE for c in word[1:]):
        return [f"-{c}" for c in word[1:]]
    return [word]


def parse_curl(command: str, base_url: str) -> RequestSpec:
    """The request a curl command sends, with its URL relative to `base_url` (the lesson's API).

    A URL on another loopback port (a curl line copied before the tutor restarted) is taken as a path on
    this API; a URL on another host is refused: the workbench only talks to the lesson's API."""
    words = _words(command)
    if not words or words[0] != "curl":
        raise CurlError("A curl command starts with `curl`.")
    for word in words[1:]:
        if word == "&":
            raise CurlError("An unquoted & ends the command in a shell: put the URL in quotes, '...?a=1&b=2'.")
        if word in {"|", "||", ";", "&&", "<", ">", ">>", "|&"}:
            raise CurlError(
                f"The workbench takes one curl command, without `{word}` and what follows: paste only the curl part."
            )
        variable = _SHELL_VARIABLE.search(word)
        if variable:
            raise CurlError(
                f"`{word}` uses the shell variable `${variable.group(1)}`: the workbench does not run a shell, "
                "so paste its value instead."
            )
    expanded: list[str] = []
    for word in words[1:]:
        expanded.extend(_expand_short_cluster(word))

    method: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    data: list[str] = []
    cookies: list[str] = []
    head = get = json_body = False
    position = 0
    while position < len(expanded):
        word = expanded[position]
        position += 1
        if not word.startswith("-") or word == "-":
            if url is not None:
                raise CurlError(f"The command names two URLs ({url} and {word}): the workbench sends one request.")
            url = word
            continue
        if word in _IGNORED_FLAGS:
            continue
        if word in ("-I", "--head"):
            head = True
            continue
        if word in ("-G", "--get"):
            get = True
            continue
        if word not in _WITH_VALUE:
            raise CurlError(
                f"curl's {word} option is not something the workbench can send. It takes -X, -H, -d/--data, "
                "--json, -b, -u, -A, -e, -G and -I, and ignores -i, -s, -v, -L, -o and -w."
            )
        if position >= len(expanded):
            raise CurlError(f"curl's {word} option needs a value after it.")
        value = expanded[position]
        position += 1
        if word in _IGNORED_WITH_VALUE:
            continue
        if word in ("-X", "--request"):
            method = value.upper()
        elif word in ("-H", "--header"):
            name, sep, rest = value.partition(":")
            if not sep:
                if name.endswith(";"):  # `-H 'X-Empty;'` sends the header with no value
                    headers[name[:-1].strip()] = ""
                    continue
                raise CurlError(f"-H '{value}' is not a header: write it as 'Name: value'.")
            if rest.strip():
                headers[name.strip()] = rest.strip()
            else:  # `-H 'Accept:'` tells curl not to send that header at all
                headers.pop(name.strip(), None)
        elif word in _DATA:
            if value.startswith("@") and _DATA[word] != "raw":
                raise CurlError(
                    f"{word} {value} reads the body from a file, which the workbench cannot open: "
                    "paste the body itself into the Request tab."
                )
            # curl drops newlines from -d/--data (not from --data-binary or --data-raw)
            data.append(value.replace("\r", "").replace("\n", "") if _DATA[word] == "data" else value)
        elif word == "--data-urlencode":
            name, sep, rest = value.partition("=")
            if value.startswith("@") or (sep and rest.startswith("@")):
                raise CurlError(f"--data-urlencode {value} reads a file, which the workbench cannot open.")
            data.append(f"{name}={quote_plus(rest)}" if sep and name else quote_plus(rest if sep else value))
        elif word == "--json":
            if value.startswith("@"):
                raise CurlError(f"--json {value} reads the body from a file: paste the JSON itself instead.")
            data.append(value)
            json_body = True
        elif word in ("-b", "--cookie"):
            if "=" not in value:
                raise CurlError(
                    f"{word} {value} reads cookies from a file (a cookie jar), which the workbench cannot open. "
                    "It keeps the cookies its own responses set and sends them by itself: leave it out, or give "
                    "the cookie as -b 'name=value'."
                )
            cookies.append(value.strip().rstrip(";"))
        elif word in ("-u", "--user"):
            if ":" not in value:
                raise CurlError(
                    f"{word} {value} has no password: the workbench cannot ask for one; give user:password."
                )
            headers["Authorization"] = "Basic " + base64.b64encode(value.encode()).decode()
        elif word in ("-A", "--user-agent"):
            headers["User-Agent"] = value
        elif word in ("-e", "--referer"):
            headers["Referer"] = value
        elif word == "--url":
            if url is not None:
                raise CurlError(f"The command names two URLs ({url} and {value}): the workbench sends one request.")
            url = value
    if url is None:
        raise CurlError("The curl command has no URL: add the address to send to, e.g. " + f"{base_url}/v1/books.")

    body = "&".join(data)
    path = _path_on_api(url, base_url)
    if get and data:
        path += ("&" if "?" in path else "?") + body
        body = ""
    if json_body:
        headers.setdefault("Content-Type", "application/json")
        headers.setdefault("Accept", "application/json")
    elif body and header(headers, "content-type") is None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"  # what curl itself sends with -d
    if cookies:
        existing = header(headers, "cookie")
        headers = {k: v for k, v in headers.items() if k.lower() != "cookie"}
        headers["Cookie"] = "; ".join(([existing] if existing else []) + cookies)
    if method is None:
        method = "HEAD" if head else ("POST" if body else "GET")
    return RequestSpec(method, path, headers, body)


def _path_on_api(url: str, base_url: str) -> str:
    if url.startswith("/"):
        return url
    if "://" not in url:
        url = "http://" + url  # curl's own default: `curl 127.0.0.1:8000/x`
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise CurlError(f"{url} is not an http:// address.")
    host = (parts.hostname or "").lower()
    if host not in LOOPBACK:
        lesson = urlsplit(base_url).netloc or "127.0.0.1"
        raise CurlError(
            f"{url} is on {parts.netloc}: the workbench only sends to this lesson's API at {lesson}. "
            "Use curl in a terminal for other hosts."
        )
    path = parts.path or "/"
    return path + (f"?{parts.query}" if parts.query else "")


def to_curl(spec: RequestSpec, base_url: str, *, cookie: str | None = None) -> str:
    """The same request as a curl command: method (spelled out whenever curl would pick another one by
    itself: it sends POST when given data, GET otherwise), URL, every header, the cookies (`cookie`: the
    Cookie header the workbench's client adds from the cookies it was given), and the body as it is."""
    headers, body = spec.prepared()
    own_cookie = header(headers, "cookie")
    headers = {k: v for k, v in headers.items() if k.lower() != "cookie"}
    parts = ["curl", "-I" if spec.method == "HEAD" else "-i"]
    implied = "POST" if body is not None else "GET"
    if spec.method not in (implied, "HEAD"):
        parts += ["-X", spec.method]
    parts.append(shlex.quote(base_url + spec.url))
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    cookies = own_cookie or cookie  # a Cookie header typed by hand is sent instead of the client's cookies
    if cookies:
        parts += ["-b", shlex.quote(cookies)]
    if body is not None:
        parts += ["--data-raw", shlex.quote(spec.body)]
    return " ".join(parts)
