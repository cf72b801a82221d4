"""The sandbox's OpenAPI 3.1 document, generated from the lesson's settings, and an offline `/docs` page.

The docs page is one self-contained HTML file (no CDN, no network): it reads `/openapi.json`, lists
every operation and lets the learner send requests from the browser.
"""

from __future__ import annotations

from typing import Any

from tutor.pack.sandbox_api import ApiSettings, Resource

PROBLEM = {
    "description": "An error (RFC 9457 problem details)",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _param(name: str, where: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _resource_paths(resource: Resource, version: str, settings: ApiSettings) -> dict[str, Any]:
    tag = f"{resource.name} ({version})"
    params = [_param(q, "query", f"Only items whose {c} equals this") for q, c in resource.filters.items()]
    if resource.sortable:
        params.append(
            _param("sort", "query", "Comma-separated columns, '-' for descending: " + ", ".join(resource.sortable))
        )
    if resource.pagination != "none":
        params.append(
            _param(
                "limit",
                "query",
                f"Page size (default {resource.page_size}, at most {resource.max_page_size})",
                {"type": "integer"},
            )
        )
    if resource.pagination == "offset":
        params.append(_param("offset", "query", "Items to skip", {"type": "integer"}))
    if resource.pagination == "cursor":
        params.append(_param("cursor", "query", "The next_cursor of the previous page"))
    headers = []
    if settings.caching and settings.caching.etag:
        headers.append(_param("If-None-Match", "header", "An ETag you hold: 304 if unchanged"))
    if settings.caching and settings.caching.last_modified:
        headers.append(_param("If-Modified-Since", "header", "An HTTP date: 304 if unchanged since"))
    ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    errors = {"4XX": PROBLEM}
    body = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    security: list[dict[str, list[str]]] = [{"bearer": []}] if resource.auth == "read" else []
    protected = resource.auth != "none" or resource.write_role
    write_security: list[dict[str, list[str]]] = [{"bearer": []}] if protected else []
    collection: dict[str, Any] = {
        "get": {
            "tags": [tag],
            "summary": f"List {resource.name}",
            "parameters": params + headers,
            "responses": {"200": ok, "304": {"description": "Not Modified"}, **errors},
            "security": security,
        },
    }
    item_id = _param("id", "path", "The item's id")
    item: dict[str, Any] = {
        "get": {
            "tags": [tag],
            "summary": f"One of {resource.name}",
            "parameters": [item_id, *headers],
            "responses": {"200": ok, "304": {"description": "Not Modified"}, "404": PROBLEM, **errors},
            "security": security,
        },
    }
    if resource.writable:
        post_params = [_param("Idempotency-Key", "header", "Retry-safe key")] if settings.idempotency_keys else []
        collection["post"] = {
            "tags": [tag],
            "summary": f"Create one of {resource.name}",
            "requestBody": body,
            "parameters": post_params,
            "security": write_security,
            "responses": {"201": ok, "409": PROBLEM, "422": PROBLEM, **errors},
        }
        for method, summary in (("put", "Replace"), ("patch", "Change some fields of")):
            item[method] = {
                "tags": [tag],
                "summary": f"{summary} one of {resource.name}",
                "parameters": [item_id],
                "requestBody": body,
                "security": write_security,
                "responses": {"200": ok, "404": PROBLEM, "422": PROBLEM, **errors},
            }
        item["delete"] = {
            "tags": [tag],
            "summary": f"Delete one of {resource.name}",
            "parameters": [item_id],
            "security": write_security,
            "responses": {"204": {"description": "Deleted"}, "404": PROBLEM, **errors},
        }
    base = f"/{version}/{resource.name}"
    return {base: collection, base + "/{id}": item}


def spec(settings: ApiSettings, state: Any = None) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for version in settings.versions:
        for resource in settings.resources:
            paths.update(_resource_paths(resource, version, settings))
    description = "The sandbox API of a backend-tutor lesson, on your own machine."
    if settings.auth is not None:
        creds = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Login"}}}}
        ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
        paths["/auth/register"] = {
            "post": {
                "tags": ["auth"],
                "summary": "Create an account",
                "requestBody": creds,
                "responses": {"201": ok, "409": PROBLEM, "422": PROBLEM},
            }
        }
        paths["/auth/login"] = {
            "post": {
                "tags": ["auth"],
                "summary": "Log in: tokens (and a session cookie)",
                "requestBody": creds,
                "responses": {"200": ok, "401": PROBLEM},
            }
        }
        if settings.auth.refresh_tokens:
            paths["/auth/refresh"] = {
                "post": {
                    "tags": ["auth"],
                    "summary": "Swap a refresh token for new tokens",
                    "responses": {"200": ok, "401": PROBLEM},
                }
            }
        paths["/auth/logout"] = {
            "post": {
                "tags": ["auth"],
                "summary": "Revoke tokens / end the session",
                "responses": {"204": {"description": "Logged out"}, "401": PROBLEM},
            }
        }
        paths["/auth/me"] = {
            "get": {
                "tags": ["auth"],
                "summary": "Who am I",
                "security": [{"bearer": []}],
                "responses": {"200": ok, "401": PROBLEM},
            }
        }
        paths["/auth/admin"] = {
            "get": {
                "tags": ["auth"],
                "summary": "Admins only",
                "security": [{"bearer": []}],
                "responses": {"200": ok, "401": PROBLEM, "403": PROBLEM},
            }
        }
        weak = getattr(getattr(state, "auth", None), "weak_modes", [])
        if weak:
            description += f" WARNING: deliberately weak auth for this lesson: {', '.join(weak)}."
    paths["/health"] = {"get": {"summary": "Liveness", "responses": {"200": {"description": "OK"}}}}
    if any(rel.switchable for r in settings.resources for rel in r.relations):
        tag = ["sandbox controls"]
        paths["/_sandbox/relations"] = {
            "get": {
                "summary": "How each switchable relation is loaded now",
                "tags": tag,
                "responses": {"200": {"description": "per_row (one query per item) or join (one IN query)"}},
            }
        }
        paths["/_sandbox/relations/{resource}/{relation}"] = {
            "parameters": [_param("resource", "path", "A resource name"), _param("relation", "path", "A relation")],
            "get": {
                "summary": "One relation's loading strategy",
                "tags": tag,
                "responses": {"200": {"description": "OK"}, "404": PROBLEM},
            },
            "put": {
                "summary": "Switch the loading strategy (stands in for a code change such as eager loading)",
                "tags": tag,
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"strategy": {"enum": ["per_row", "join"]}},
                                "required": ["strategy"],
                            }
                        }
                    }
                },
                "responses": {"200": {"description": "Switched"}, "404": PROBLEM, "422": PROBLEM},
            },
        }
    if settings.caching is not None and settings.caching.switchable:
        tag = ["sandbox controls"]
        paths["/_sandbox/caching"] = {
            "get": {
                "summary": "The application cache's TTL and single-flight setting now",
                "tags": tag,
                "responses": {"200": {"description": "OK"}},
            },
            "put": {
                "summary": "Change them (stands in for the code change that adds a cache or a per-key lock)",
                "tags": tag,
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "app_cache_ttl": {
                                        "type": ["number", "null"],
                                        "exclusiveMinimum": 0,
                                        "maximum": 86400,
                                    },
                                    "single_flight": {"type": "boolean"},
                                    "cache_control": {
                                        "type": "object",
                                        "minProperties": 1,
                                        "additionalProperties": {"type": "string", "maxLength": 200},
                                    },
                                },
                                "additionalProperties": False,
                                "minProperties": 1,
                            }
                        }
                    }
                },
                "responses": {"200": {"description": "Changed"}, "415": PROBLEM, "422": PROBLEM},
            },
            "delete": {
                "summary": "Empty the application cache (as a FLUSHDB after a fix made in the database)",
                "tags": tag,
                "responses": {"200": {"description": "Emptied; `emptied` says how many entries"}},
            },
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "backend-tutor sandbox API", "version": "1.0", "description": description},
        "paths": paths,
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                    },
                },
                "Login": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                },
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox API docs</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
.op{border:1px solid #ccc;border-radius:6px;margin:.6em 0;padding:.4em .8em}
.m{display:inline-block;min-width:4.5em;font-weight:bold}
.get{color:#1a7f37}.post{color:#0550ae}.put,.patch{color:#9a6700}.delete{color:#cf222e}
input,textarea{font:13px monospace;width:100%;box-sizing:border-box}
pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:25em}
details summary{cursor:pointer}
</style></head><body>
<h1>Sandbox API</h1><p id="desc"></p>
<p>Bearer token for requests (optional): <input id="token" placeholder="paste an access_token"></p>
<div id="ops">Loading /openapi.json ...</div>
<script>
const esc = s => String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
fetch('/openapi.json').then(r => r.json()).then(spec => {
  document.getElementById('desc').textContent = spec.info.description || '';
  const ops = document.getElementById('ops'); ops.innerHTML = '';
  let n = 0;
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = 'op' + (n++);
      const params = (op.parameters || []).map(p =>
        `<label>${esc(p.name)} <small>(${esc(p.in)}) ${esc(p.description || '')}</small>
         <input data-in="${esc(p.in)}" data-name="${esc(p.name)}"></label>`).join('');
      const body = op.requestBody ? '<label>JSON body<textarea rows="4" data-body></textarea></label>' : '';
      const el = document.createElement('details'); el.className = 'op';
      el.innerHTML = `<summary><span class="m ${method}">${method.toUpperCase()}</span> ${esc(path)}
        &nbsp; <small>${esc(op.summary || '')}</small></summary>${params}${body}
        <button id="${id}">Send</button><pre hidden></pre>`;
      ops.appendChild(el);
      el.querySelector('button').onclick = async () => {
        let url = path; const q = new URLSearchParams(); const headers = {};
        for (const i of el.querySelectorAll('input')) {
          if (!i.value) continue;
          if (i.dataset.in === 'path') url = url.replace('{' + i.dataset.name + '}', encodeURIComponent(i.value));
          else if (i.dataset.in === 'query') q.set(i.dataset.name, i.value);
          else if (i.dataset.in === 'header') headers[i.dataset.name] = i.value;
        }
        const token = document.getElementById('token').value.trim();
        if (token) headers['Authorization'] = 'Bearer ' + token;
        const init = {method: method.toUpperCase(), headers};
        const ta = el.querySelector('textarea');
        if (ta && ta.value) { init.body = ta.value; headers['Content-Type'] = 'application/json'; }
        const out = el.querySelector('pre'); out.hidden = false;
        const t0 = performance.now();
        try {
          const r = await fetch(url + (q.toString() ? '?' + q : ''), init);
          const text = await r.text();
          const hs = [...r.headers].map(([k, v]) => k + ': ' + v).join('\\n');
          let pretty = text; try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
          const ms = (performance.now() - t0).toFixed(1);
          const ms = (performance.now() - t0).toFixed(1);
          out.textContent = `${r.status} ${r.statusText}  (${ms} ms)\\n${hs}\\n\\n${pretty}`;
        } catch (e) { out.textContent = String(e); }
      };
    }
  }
});
</script></body></html>
"""
