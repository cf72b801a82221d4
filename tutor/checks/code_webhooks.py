"""`code_http`'s `webhook`: a step's request sent as a signed webhook delivery, as the lesson's sandbox
signs its own (`sandboxes.api.webhooks`, Standard Webhooks 1.0), so a learner's receiver is judged on
real signatures, forged ones, stale ones, and the same event delivered twice."""

from __future__ import annotations

from typing import Any

from tutor.pack.specs_code import WebhookProbe


def as_delivery(
    ctx: Any, webhook: WebhookProbe, kwargs: dict[str, Any], last: tuple[str, bytes] | None
) -> tuple[str, bytes]:
    """Put the delivery's body and headers into the request's `kwargs`; returns (event id, body) for a
    later `again`."""
    http = ctx.need_http()
    again = last if webhook.again else None
    if webhook.again and last is None:
        raise ValueError("`again` needs an earlier webhook step in the same check")
    if webhook.encoding == "escaped":
        if again is None:
            # the event made as usual, then written as another sender's library writes it, and signed as such
            event_id, compact, _, _ = http.webhook_probe(webhook.type, webhook.data)
            again = (event_id, escaped(compact))
        else:
            # the same event written afresh for its retry: the same id, other bytes
            again = (again[0], escaped(again[1]))
    event_id, body, sent, headers = http.webhook_probe(
        webhook.type, webhook.data, tamper=webhook.tamper, again=again, rotating=webhook.rotating
    )
    kwargs.pop("params", None)
    kwargs["content"] = sent
    kwargs["headers"] = {
        **{k: v for k, v in kwargs.get("headers", {}).items() if k.lower() != "content-type"},
        **headers,
    }
    return event_id, body


def escaped(body: bytes) -> bytes:
    """The same JSON with '/' and every non-ASCII character escaped, as PHP's json_encode writes it by default
    (`"Zo\\u00eb"`, `"https:\\/\\/shop.example"`). A '/' occurs only inside JSON strings, where `\\/` is
    a valid escape of it (RFC 8259, section 7)."""
    import json

    return json.dumps(json.loads(body), ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def described(webhook: WebhookProbe, event_id: str) -> str:
    """What the delivery was, in the learner's words, for a step whose answer was not the one needed."""
    if webhook.again:
        rewritten = (
            " Its JSON was written afresh, with '/' and letters such as 'ë' escaped: the same event in other bytes."
            if webhook.encoding == "escaped"
            else ""
        )
        return (
            f"This request delivered event {event_id} a second time, signed afresh: a sender does that when it "
            f"did not see your 2xx in time.{rewritten} Answer 2xx again, and do not act on it twice."
        )
    if webhook.rotating and webhook.tamper == "none":
        written = (
            " Its webhook-signature held two signatures, as while the provider rotates its secret: first one by "
            "the secret it is retiring, then one by yours."
        )
    else:
        written = ""
    if webhook.encoding == "escaped":
        written += (
            " Its JSON was written as another sender's library writes it, with '/' and letters such as 'ë' escaped: "
            "the signature is over exactly those bytes."
        )
    return {
        "none": f"This request was event {event_id}, signed with the lesson's secret as a real delivery is.{written}",
        "signature": f"This request was event {event_id} signed with another secret, as a forger would sign it: "
        "the webhook-signature does not match.",
        "body": f"This request was event {event_id} whose body was changed after it was signed: the "
        "webhook-signature does not match the body you received.",
        "stale": f"This request was event {event_id} with a valid signature made long ago: its "
        "webhook-timestamp is outside the replay window, so it may be a captured request sent again.",
        "unsigned": f"This request was event {event_id} with no webhook-signature header at all.",
    }[webhook.tamper]
