"""The in-app inbox: cursor pagination, marking read, and the original inbox route."""

from __future__ import annotations

from tests.conftest import eventually, unique
from tests.notifications.helpers import (
    READ,
    WRITE,
    get_notifications,
    make_payment,
    publish,
    put_recipient,
    running_notifications,
    when,
)

# --- in-app inbox: cursor pagination, read, history -------------------------------------------


async def test_inbox_pages_with_a_cursor_and_marks_read(settings, sink, producer):
    account = unique("page")
    async with running_notifications(settings, sink) as (_, client):
        await put_recipient(client, account, kind="patient")
        for i in range(5):
            await publish(producer, make_payment(account, f"{i + 1}.00"))
        await eventually(lambda: when(get_notifications(client, account), lambda items: len(items) == 5))
        seen, cursor = [], None
        while True:
            params = {"recipient": account, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/notifications", params=params, headers=READ)).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 5 and len({n["id"] for n in seen}) == 5
        stamps = [(n["created_at"], n["id"]) for n in seen]
        assert stamps == sorted(stamps, reverse=True)
        first = seen[0]["id"]
        read = await client.post(f"/v1/notifications/{first}/read", headers=WRITE)
        assert read.status_code == 200 and read.json()["read_at"] is not None
        again = await client.post(f"/v1/notifications/{first}/read", headers=WRITE)
        assert again.json()["read_at"] == read.json()["read_at"]
        detail = (await client.get(f"/v1/notifications/{first}", headers=READ)).json()
        assert [(d["channel"], d["status"]) for d in detail["deliveries"]] == [("inbox", "sent")]
        bad = await client.get(
            "/v1/notifications", params={"recipient": account, "cursor": "zz"}, headers=READ
        )
        assert bad.status_code == 422
        # The backbone's original route still lists the same messages.
        legacy = (await client.get(f"/v1/recipients/{account}/inbox", headers=READ)).json()
        assert {m["id"] for m in legacy} == {n["id"] for n in seen}
