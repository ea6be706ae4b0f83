"""The Create page's workspace (`/api/create/state`): a device's copy is merged into the stored one by item
`updatedAt`; an item the device no longer lists is deleted only when the device had seen its latest change;
two devices saving at once (real connections, real row lock) lose nothing; bad input is a 400 that stores
nothing."""

import threading

import pytest


def _item(i: str, at: str, **kw):
    return {"id": i, "updatedAt": at, **kw}


T1, T2, T3 = "2026-11-30T09:00:00Z", "2026-11-30T10:00:00Z", "2026-11-30T11:00:00Z"


def test_the_later_copy_of_an_item_wins_and_a_tie_goes_to_the_device():
    from shared.compose.merge import merge

    stored = [_item("a", T2, caption="newer on the server"), _item("b", T1, caption="old")]
    incoming = [_item("a", T1, caption="stale device copy"), _item("b", T1, caption="same time, device wins")]
    out = merge(stored, incoming, T1)
    assert [i["caption"] for i in out] == ["newer on the server", "same time, device wins"]
    # epoch milliseconds and ISO strings compare as the instants they are
    ms_t3 = 1796036400000  # 2026-11-30T11:00:00Z
    assert merge([_item("a", T2, v=1)], [{"id": "a", "updatedAt": ms_t3, "v": 2}], None)[0]["v"] == 2


def test_an_unlisted_item_is_deleted_only_if_the_device_had_seen_its_last_change():
    from shared.compose.merge import merge

    stored = [_item("seen", T1), _item("changed-elsewhere", T3), {"id": "no-time"}]
    out = merge(stored, [_item("new", T2)], T2)
    assert [i["id"] for i in out] == ["new", "changed-elsewhere"]
    # a device that does not say when it last changed anything deletes nothing
    assert [i["id"] for i in merge(stored, [], None)] == ["seen", "changed-elsewhere", "no-time"]


def test_items_without_an_id_or_with_one_twice_are_refused():
    from shared.compose.merge import BadWorkspace, merge

    with pytest.raises(BadWorkspace, match="items\\[1\\] has no id"):
        merge([], [_item("a", T1), {"caption": "x"}], T1)
    with pytest.raises(BadWorkspace, match="twice"):
        merge([], [_item("a", T1), _item("a", T2)], T1)
    with pytest.raises(BadWorkspace, match="not an object"):
        merge([], ["a"], T1)


def test_two_devices_saving_at_once_keep_both_items(clean_state):
    """Each device adds its own item to the same stored list at the same moment: with the row lock, the second
    merge sees the first's item (which is newer than the second device's lastModifiedAt) and keeps it."""
    from shared.compose import store

    store.save([_item("base", T1)], T1)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def device(n: int) -> None:
        try:
            barrier.wait()
            store.save([_item("base", T1), _item(f"d{n}", "2026-11-30T12:00:00Z")], T1)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=device, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(i["id"] for i in store.read()["items"]) == ["base", *sorted(f"d{n}" for n in range(8))]


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
