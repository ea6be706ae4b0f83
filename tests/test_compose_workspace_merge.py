"""The Create page's workspace (`/api/create/state`): a device's copy is merged into the stored one by item
`updatedAt`; an item the device no longer lists is deleted only when the server stored it before the version
the device saw (server stamps, never device clocks); two devices saving at once (real connections, real row
lock) lose nothing; bad input is a 400 that stores nothing."""

import threading

import pytest


def _item(i: str, at: str, **kw):
    return {"id": i, "updatedAt": at, **kw}


T1, T2, T3 = "2026-11-30T09:00:00Z", "2026-11-30T10:00:00Z", "2026-11-30T11:00:00Z"


def test_the_later_copy_of_an_item_wins_and_a_tie_goes_to_the_device():
    from shared.compose.merge import merge

    stored = [_item("a", T2, caption="newer on the server"), _item("b", T1, caption="old")]
    incoming = [_item("a", T1, caption="stale device copy"), _item("b", T1, caption="same time, device wins")]
    out, taken = merge(stored, incoming, T1)
    assert taken == {"b"}
    assert [i["caption"] for i in out] == ["newer on the server", "same time, device wins"]
    # epoch milliseconds and ISO strings compare as the instants they are
    ms_t3 = 1796036400000  # 2026-11-30T11:00:00Z
    assert merge([_item("a", T2, v=1)], [{"id": "a", "updatedAt": ms_t3, "v": 2}], None)[0][0]["v"] == 2


def test_an_unlisted_item_is_deleted_only_if_the_server_stored_it_before_the_devices_version():
    from shared.compose.merge import merge

    stored = [_item("seen", T1), _item("saved-elsewhere", T1), {"id": "no-time"}]
    # the server's stamps decide, not the items' own times: "saved-elsewhere" carries an old updatedAt (a device
    # whose clock is behind) but was stored after the version this device saw
    stamps = {"seen": T1, "saved-elsewhere": T3}
    out, _ = merge(stored, [_item("new", T2)], T2, stamps)
    assert [i["id"] for i in out] == ["new", "saved-elsewhere", "no-time"]  # no stamp, no time: kept
    # a device that does not say which version it saw deletes nothing
    assert [i["id"] for i in merge(stored, [], None, stamps)[0]] == ["seen", "saved-elsewhere", "no-time"]


def test_items_without_an_id_or_with_one_twice_are_refused():
    from shared.compose.merge import BadWorkspace, merge

    with pytest.raises(BadWorkspace, match="items\\[1\\] has no id"):
        merge([], [_item("a", T1), {"caption": "x"}], T1)
    with pytest.raises(BadWorkspace, match="twice"):
        merge([], [_item("a", T1), _item("a", T2)], T1)
    with pytest.raises(BadWorkspace, match="not an object"):
        merge([], ["a"], T1)


def test_two_devices_saving_at_once_keep_both_items(clean_state):
    """Each device read the workspace, then adds its own item at the same moment, saying the version it read: with
    the row lock and the server's stamps, every save keeps the items the others stored meanwhile."""
    from shared.compose import store

    seen = store.save([_item("base", T1)], T1)["updatedAt"]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def device(n: int) -> None:
        try:
            barrier.wait()
            store.save([_item("base", T1), _item(f"d{n}", "2026-11-30T12:00:00Z")], seen)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=device, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(i["id"] for i in store.read()["items"]) == ["base", *sorted(f"d{n}" for n in range(8))]


def test_a_stale_tab_keeps_what_another_tab_saved_and_a_tab_that_saw_it_can_delete_it(client, auth, clean_state):
    put = lambda body: client.put("/api/create/state", json=body, headers=auth).json()["data"]  # noqa: E731
    read = lambda: client.get("/api/create/state", headers=auth).json()["data"]  # noqa: E731
    tab_b_version = put({"items": [_item("y", T1)], "lastModifiedAt": T1})["updatedAt"]
    put({"items": [_item("y", T1), _item("x", T2)], "lastModifiedAt": tab_b_version})  # tab A adds x
    # tab B never reloaded: it edits y and saves the list it has, saying the version it last saw
    after_b = put({"items": [_item("y", T3, caption="edited")], "lastModifiedAt": tab_b_version})
    assert sorted(i["id"] for i in after_b["items"]) == ["x", "y"]
    # a tab that has read the workspace deletes x by leaving it out
    version = read()["updatedAt"]
    after_delete = put({"items": [_item("y", T3, caption="edited")], "lastModifiedAt": version})
    assert [i["id"] for i in after_delete["items"]] == ["y"] and after_delete["items"][0]["caption"] == "edited"


def test_the_routes_merge_and_refuse_bad_input_without_storing_it(client, auth, clean_state):
    put = lambda body: client.put("/api/create/state", json=body, headers=auth)  # noqa: E731
    first = put({"items": [_item("a", T1, caption="one")], "lastModifiedAt": T1})
    assert first.status_code == 200 and first.json()["data"]["items"][0]["caption"] == "one"
    bad = put({"items": [_item("a", T2), {"caption": "no id"}], "lastModifiedAt": T2})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "has no id" in bad.json()["error"]["message"]
    assert put({"items": "nope"}).status_code == 400
    assert client.get("/api/create/state", headers=auth).json()["data"]["items"] == [_item("a", T1, caption="one")]
    assert client.get("/api/create/state").status_code == 401
