"""The API's rough edges, smoothed: refused choices name the valid ones, an empty year range is
a 400, `GET /` says where to go, and the popular model is never called personalised."""

from __future__ import annotations


def known_user(client) -> int:
    return client.get("/users/sample?n=1").json()["user_ids"][0]


def test_a_refused_model_or_genre_lists_the_valid_values(client):
    uid = known_user(client)
    answer = client.get(f"/recommend/{uid}?model=alss")
    assert answer.status_code == 400
    message = answer.json()["extra"][0]["message"]
    assert "valid values" in message and "als" in message and "ease" in message
    answer = client.get(f"/recommend/{uid}?genre=Nope")
    assert answer.status_code == 400
    assert "Comedy" in answer.json()["extra"][0]["message"]


def test_an_empty_year_range_is_a_400(client):
    uid = known_user(client)
    answer = client.get(f"/recommend/{uid}?year_min=2020&year_max=1990")
    assert answer.status_code == 400 and "year_min" in answer.json()["detail"]
    assert client.get(f"/recommend/{uid}?year_min=1990&year_max=1990").status_code == 200


def test_the_root_points_to_the_app_and_the_schema(client):
    answer = client.get("/")
    assert answer.status_code == 200
    links = answer.json()["links"]
    assert links["app"] == "/app" and links["schema"] == "/schema"
    assert all(client.get(link).status_code == 200 for name, link in links.items() if name != "app")


def test_the_popular_model_is_never_personalised(client):
    uid = known_user(client)
    assert client.get(f"/recommend/{uid}?model=popular").json()["tier"] == "popular"
    assert client.get(f"/recommend/{uid}?model=popular&offset=25").json()["tier"] == "popular"
    assert client.get(f"/recommend/{uid}?model=als").json()["tier"] == "personalised"
