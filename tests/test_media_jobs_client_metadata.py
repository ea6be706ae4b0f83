"""A job's metadata is the client's, but `thumbnailKey` is the worker's: the jobs list presigns it, so a key a
client names at creation is dropped (else the owner's token could read any object of the bucket through it)."""

from media_support import clean_bucket  # noqa: F401  (fixture)


def test_a_client_cannot_name_the_thumbnail_the_list_presigns(client, auth, clean_state, clean_bucket):
    clean_bucket.put_bytes("trailers/2026/11/m.mp4", b"\x00\x00\x00\x20ftypisom", "video/mp4")
    clean_bucket.put_bytes("private/ledger.csv", b"secret", "text/csv")
    r = client.post("/api/jobs", headers=auth, json={
        "fileName": "m.mp4", "sourceUrl": clean_bucket.public_url("trailers/2026/11/m.mp4"),
        "metadata": {"title": "M", "thumbnailKey": "private/ledger.csv", "thumbnailAvailable": False}})
    assert r.status_code == 200, r.text
    job = r.json()["data"]
    assert job["metadata"] == {"title": "M", "thumbnailAvailable": False}
    listed = client.get("/api/jobs", headers=auth).json()["data"]
    assert listed and all("private/ledger.csv" not in str(j) and "thumbnailUrl" not in (j.get("metadata") or {})
                          for j in listed)
