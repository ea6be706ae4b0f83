"""X: replies to our posts, found by searching their conversations (API v2 recent search).

`GET /2/tweets/search/recent` with `conversation_id:<our post id>` operators (one query per batch of posts, within
the 512 characters Basic allows), `is:reply`, our own posts excluded; `since_id` the newest reply already seen, so
no post is read (and charged against the monthly post cap) twice. A reply counts when it answers our account
(`in_reply_to_user_id`). https://docs.x.com/x-api/fundamentals/conversation-id ,
https://docs.x.com/x-api/fundamentals/post-cap . Field parameters are sent as `tweet.fields`, the name the live
API and docs.x.com use (the xdk OpenAPI copy spells it `post.fields`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.comments.fetch.base import MAX_PAGES, BudgetSpent, Fetched, ReadContext, parse_time, x_base

QUERY_MAX = 512


def queries(post_ids: list[str], username: str | None) -> list[str]:
    """Search queries covering every post, each within QUERY_MAX characters."""
    tail = " is:reply" + (f" -from:{username}" if username else "")
    out: list[str] = []
    batch: list[str] = []
    for pid in post_ids:
        trial = [*batch, f"conversation_id:{pid}"]
        if batch and len("(" + " OR ".join(trial) + ")" + tail) > QUERY_MAX:
            out.append("(" + " OR ".join(batch) + ")" + tail)
            trial = [f"conversation_id:{pid}"]
        batch = trial
    if batch:
        out.append("(" + " OR ".join(batch) + ")" + tail)
    return out


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read(ctx: ReadContext) -> list[Fetched]:
    me = str(ctx.account.account_id)
    ours = {p.post_id for p in ctx.posts}
    since_id = ctx.cursor.get("since_id")
    newest = int(since_id) if since_id else 0
    # recent search reaches back 7 days; start_time must lie inside that window
    start = max(ctx.since, datetime.now(timezone.utc) - timedelta(days=7) + timedelta(minutes=5))
    out: list[Fetched] = []
    try:
        for query in queries(sorted(ours), ctx.account.username):
            # author_id and in_reply_to_user_id come with their expansions (x-openapi.json lists them there)
            params = {"query": query, "max_results": "100", "tweet.fields": "created_at,conversation_id",
                      "expansions": "author_id,in_reply_to_user_id", "user.fields": "username"}
            if since_id:
                params["since_id"] = str(since_id)
            else:
                params["start_time"] = _iso(start)
            for _ in range(MAX_PAGES):
                ctx.ensure(1)
                res = ctx.http.json("GET", f"{x_base()}/2/tweets/search/recent", phase="prepare", params=params)
                data = res.get("data") or []
                ctx.spend(len(data))  # the monthly cap counts posts returned, not requests
                names = {u.get("id"): u.get("username") for u in (res.get("includes") or {}).get("users") or []}
                for t in data:
                    tid = str(t.get("id"))
                    if tid.isdigit():
                        newest = max(newest, int(tid))
                    if str(t.get("in_reply_to_user_id")) != me or str(t.get("conversation_id")) not in ours:
                        continue
                    out.append(Fetched(comment_id=tid, post_id=str(t["conversation_id"]), text=t.get("text") or "",
                                       commented_at=parse_time(t.get("created_at")) or datetime.now(timezone.utc),
                                       author_id=str(t.get("author_id") or "") or None,
                                       author_name=names.get(t.get("author_id"))))
                token = (res.get("meta") or {}).get("next_token")
                if not token:
                    break
                params["next_token"] = token
    except BudgetSpent:
        ctx.exhausted = True
    if newest:
        ctx.cursor["since_id"] = str(newest)
    return out
