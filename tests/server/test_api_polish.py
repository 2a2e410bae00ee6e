"""The API's rough edges, smoothed: refused choices name the valid ones, an empty year range is
a 400, `GET /` says where to go, the popular model is never called personalised, and
`/compare` takes the models to set side by side."""

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


def test_compare_takes_the_two_models_and_reports_popularity_and_novelty(client):
    """Defaults: the version's default model on the left, the discovery model on the right; any
    two served models can be named; each side's stats hold mean popularity and novelty."""
    uid = known_user(client)
    default = client.get(f"/recommend/{uid}").json()["model"]
    body = client.get(f"/compare/{uid}?k=5").json()
    assert (body["accuracy"]["model"], body["discovery"]["model"]) == (default, "diverse")
    named = client.get(f"/compare/{uid}?k=5&left=ease&right=popular").json()
    assert (named["accuracy"]["model"], named["discovery"]["model"]) == ("ease", "popular")
    ease = [i["movie_id"] for i in client.get(f"/recommend/{uid}?k=5&model=ease").json()["items"]]
    assert [i["movie_id"] for i in named["accuracy"]["items"]] == ease
    for side in ("accuracy_stats", "discovery_stats"):
        stats = named[side]
        assert stats["mean_popularity"] > 0 and stats["novelty"] > 0
    # popular's list is the most popular there is: its novelty is the lowest
    assert named["discovery_stats"]["novelty"] <= named["accuracy_stats"]["novelty"]
    answer = client.get(f"/compare/{uid}?left=svd")
    assert answer.status_code == 400 and "valid values" in answer.json()["extra"][0]["message"]


def test_the_docs_page_and_its_files_come_from_this_server(client):
    """/docs leads to Swagger UI over this server's schema; every script and style it names is
    served here (the browser test loads it with other hosts blocked)."""
    import re

    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert page.url.path == "/schema/swagger"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert client.get("/").json()["links"]["docs"] == "/docs"


def test_genre_names_match_in_any_case(client):
    uid = known_user(client)
    exact = client.get(f"/recommend/{uid}?genre=Sci-Fi&genre=Comedy&k=5").json()
    assert exact["items"]
    for spelling in ("genre=sci-fi&genre=comedy", "genre=SCI-FI&genre=Comedy"):
        answer = client.get(f"/recommend/{uid}?{spelling}&k=5")
        assert answer.status_code == 200 and answer.json()["items"] == exact["items"], spelling
    assert client.get(f"/compare/{uid}?genre=drama&k=3").status_code == 200
    assert client.get(f"/recommend/{uid}?genre=nope").status_code == 400


def test_the_cold_start_example_is_fresh_after_it_posted_ratings(client):
    """An example that posted ratings is a fold-in user now: the next example is another id."""
    first = client.get("/users/sample?n=1").json()["cold_start_example"]
    assert client.get(f"/recommend/{first}").json()["tier"] == "popular"
    popular = client.get(f"/recommend/{first}?k=1").json()["items"][0]["movie_id"]
    assert client.post(f"/users/{first}/ratings", json={"movie_id": popular, "rating": 5.0}).status_code == 201
    second = client.get("/users/sample?n=1").json()["cold_start_example"]
    assert second != first
    assert client.get(f"/recommend/{second}").json()["tier"] == "popular"
