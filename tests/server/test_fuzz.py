"""Property-based fuzzing of the API: no input ever produces a 5xx or a non-JSON error."""

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

text = st.text(alphabet=string.printable + "é€", max_size=12)
segment = st.one_of(text, st.integers(-(10**12), 10**12).map(str), st.floats(allow_nan=True).map(str))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=False), text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)


def _ok(res):
    assert res.status_code < 500, res.text
    if res.status_code >= 400:
        assert "detail" in res.json()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/recommend/", "/compare/", "/movies/", "/similar/"]), ident=segment, k=segment, model=text
)
def test_get_endpoints_never_fail(client, path, ident, k, model):
    from urllib.parse import quote

    _ok(client.get(path + quote(ident, safe=""), params={"k": k, "model": model}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(json_values, st.fixed_dictionaries({"movie_id": json_values, "rating": json_values})),
    raw=st.binary(max_size=40),
    user=segment,
)
def test_rating_bodies_never_fail(client, body, raw, user):
    from urllib.parse import quote

    url = f"/users/{quote(user, safe='')}/ratings"
    _ok(client.post(url, content=json.dumps(body), headers={"content-type": "application/json"}))
    _ok(client.post(url, content=raw, headers={"content-type": "application/json"}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=text, limit=segment)
def test_search_never_fails(client, q, limit):
    _ok(client.get("/movies", params={"q": q, "limit": limit}))
