"""The real OpenAI client against `embver serve`: vectors, references, formats, refusals."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import openai
import pytest

import embver
from embver.compare.api import fit_adapter

TEXTS_AT = [0, 7, 13, 29]


def _vectors(response) -> np.ndarray:
    return np.array([d.embedding for d in response.data], np.float32)


def test_embeddings_by_alias_equal_the_version_encoder_and_the_stored_vectors(
    client, bbc, encoded, news_root
):
    texts = [bbc.text[i] for i in TEXTS_AT]
    response = client.embeddings.create(model="news@production", input=texts)
    assert response.model == "news@1.0.0"
    assert [d.index for d in response.data] == list(range(len(texts)))
    got = _vectors(response)
    assert got.shape == (4, 384)
    np.testing.assert_allclose(got, encoded["news@1.0.0"][TEXTS_AT], atol=1e-5)
    with embver.open(news_root) as store:
        stored = store.get("news@1.0.0").vectors([bbc.id[i] for i in TEXTS_AT])
    np.testing.assert_allclose(got, stored, atol=1e-5)
    assert response.usage.prompt_tokens == response.usage.total_tokens > 4 * 5


@pytest.mark.parametrize(
    ("model", "used"),
    [("news@1.0", "news@1.0.1"), ("news@1.0.1", "news@1.0.1"), ("news", "news@1.1.0"),
     ("news@1.1.0", "news@1.1.0")],
)  # fmt: skip
def test_every_kind_of_reference_names_the_exact_version_used(client, bbc, encoded, model, used):
    response = client.embeddings.create(model=model, input=bbc.text[3], encoding_format="float")
    assert response.model == used
    np.testing.assert_allclose(_vectors(response)[0], encoded[used][3], atol=1e-5)


def test_base64_is_little_endian_float32_as_openai_sends_it(served, bbc, encoded):
    url, _, _ = served
    body = {"model": "news@1.1.0", "input": [bbc.text[5]], "encoding_format": "base64"}
    answer = httpx.post(f"{url}/v1/embeddings", json=body).json()
    raw = base64.b64decode(answer["data"][0]["embedding"])
    assert len(raw) == 384 * 4
    np.testing.assert_allclose(np.frombuffer(raw, "<f4"), encoded["news@1.1.0"][5], atol=1e-5)


def test_dimensions_equal_to_the_version_pass_and_others_are_refused(client, bbc):
    ok = client.embeddings.create(model="news@1.0.0", input=[bbc.text[0]], dimensions=384)
    assert len(ok.data[0].embedding) == 384
    with pytest.raises(openai.BadRequestError, match=r"'dimensions' is 128.*384-d"):
        client.embeddings.create(model="news@1.0.0", input=[bbc.text[0]], dimensions=128)


def test_an_unknown_reference_is_404_listing_the_aliases(client):
    with pytest.raises(openai.NotFoundError, match=r"production → 1\.0\.0") as caught:
        client.embeddings.create(model="news@staging", input=["a headline"])
    assert "1.0.0, 1.0.1, 1.1.0" in str(caught.value)
    with pytest.raises(openai.NotFoundError, match=r"news@9\.9\.9.*production → 1\.0\.0"):
        client.embeddings.create(model="news@9.9.9", input=["a headline"])
    with pytest.raises(openai.NotFoundError, match=r"no space 'sports'.*\['news', 'noise'\]"):
        client.embeddings.create(model="sports@production", input=["a headline"])


BAD_BODIES = [
    ({"model": "news@1.0.0"}, "'input' is required"),
    ({"model": "news@1.0.0", "input": []}, "empty list"),
    ({"model": "news@1.0.0", "input": ""}, "input 0 is empty"),
    ({"model": "news@1.0.0", "input": ["ok", "   "]}, "input 1 is empty"),
    ({"model": "news@1.0.0", "input": [[101, 2023]]}, "token array"),
    ({"model": "news@1.0.0", "input": [101, 2023]}, "token array"),
    ({"model": "news@1.0.0", "input": {"text": "x"}}, "must be a string or a list"),
    ({"model": "news@1.0.0", "input": ["ok", 3.5]}, "input 1 is float"),
    ({"model": "news@1.0.0", "input": ["x" * 20_001]}, "20001 characters; at most 20000"),
    ({"model": "news@1.0.0", "input": ["x"] * 513}, "513 strings; at most 512"),
    ({"input": ["x"]}, "'model' must name a version"),
    ({"model": 7, "input": ["x"]}, "'model' must name a version"),
    ({"model": "News@@1", "input": ["x"]}, "invalid"),
    ({"model": "news@1.0.0", "input": ["x"], "encoding_format": "int8"}, "'encoding_format'"),
    ({"model": "news@1.0.0", "input": ["x"], "dimensions": "384"}, "positive integer"),
    ({"model": "news@1.0.0", "input": ["x"], "target": 5}, "'target' must name a version"),
    ({"model": "noise@1.0.0", "input": ["x"]}, "keeps no model"),
    (["news@1.0.0", "x"], "must be a JSON object"),
]


@pytest.mark.parametrize(("body", "reason"), BAD_BODIES)
def test_bad_input_is_400_with_a_reason(served, body, reason):
    url, _, _ = served
    response = httpx.post(f"{url}/v1/embeddings", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert reason in error["message"] and error["type"] == "invalid_request_error"


def test_a_body_that_is_not_json_is_400(served):
    url, _, _ = served
    response = httpx.post(
        f"{url}/v1/embeddings", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "not JSON" in response.json()["error"]["message"]


def test_a_drop_in_patch_target_is_the_identity(client, bbc, encoded):
    response = client.embeddings.create(
        model="news@1.0.1", input=[bbc.text[2]], encoding_format="float",
        extra_body={"target": "news@1.0.0"},
    )  # fmt: skip
    assert response.model == "news@1.0.1"
    assert response.model_extra["target"] == {"model": "news@1.0.0", "via": "drop-in"}
    np.testing.assert_allclose(_vectors(response)[0], encoded["news@1.0.1"][2], atol=1e-5)


def test_a_breaking_target_is_refused(served):
    url, _, _ = served
    body = {"model": "noise@1.0.1", "input": ["x"], "target": "noise@1.0.0"}
    response = httpx.post(f"{url}/v1/embeddings", json=body)
    assert response.status_code == 400
    assert "verdict between noise@1.0.1 and noise@1.0.0 is breaking" in response.text


def test_a_target_needs_a_stored_map_and_then_goes_through_it(client, served, bbc, encoded):
    """1.1.0 (CLS pooling) has no verdict against 1.0.0: refused until a map is fitted,
    then answered with the adapter's transform of 1.1.0's vectors, in 1.0.0's space."""
    _, _, store = served
    ask = {"model": "news@1.1.0", "input": [bbc.text[4], bbc.text[9]], "encoding_format": "float",
           "extra_body": {"target": "news@1.0.0"}}  # fmt: skip
    with pytest.raises(openai.BadRequestError, match=r"embver adapter fit news@1\.1\.0 news@1"):
        client.embeddings.create(**ask)
    adapter = fit_adapter(store, "news@1.1.0", "news@1.0.0", kind="ridge")
    response = client.embeddings.create(**ask)
    assert response.model_extra["target"] == {"model": "news@1.0.0", "via": "adapter"}
    expected = adapter.transform(encoded["news@1.1.0"][[4, 9]])
    np.testing.assert_allclose(_vectors(response), expected, atol=1e-5)
    assert np.abs(expected - encoded["news@1.1.0"][[4, 9]]).max() > 1e-3  # the map did work


def test_models_lists_versions_and_aliases(client):
    models = {m.id: m for m in client.models.list().data}
    assert {"news@1.0.0", "news@1.0.1", "news@1.1.0", "noise@1.0.1"} <= set(models)
    production = models["news@production"].model_extra
    assert production["resolves_to"] == "news@1.0.0"
    patch = models["news@1.0.1"].model_extra
    assert patch["verdict"] == "drop-in" and patch["parent"] == "news@1.0.0"
    assert patch["dim"] == 384 and patch["model_kept"] is True
    assert models["noise@1.0.0"].model_extra["model_kept"] is False
    assert client.models.retrieve("news@1.0").id == "news@1.0.1"


def test_stored_vectors_by_id_as_json_and_arrow(served, bbc, news_root):
    import pyarrow as pa

    url, _, _ = served
    ids = [bbc.id[1], bbc.id[8]]
    with embver.open(news_root) as store:
        stored = store.get("news@1.0.0").vectors(ids)
    answer = httpx.get(f"{url}/v1/vectors/news@production", params={"ids": ",".join(ids)})
    assert answer.status_code == 200 and answer.json()["model"] == "news@1.0.0"
    np.testing.assert_array_equal(np.array(answer.json()["vectors"], np.float32), stored)
    arrow = httpx.get(
        f"{url}/v1/vectors/news@1.0.0", params={"ids": ",".join(ids)},
        headers={"accept": "application/vnd.apache.arrow.stream"},
    )  # fmt: skip
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.column("id").to_pylist() == ids
    np.testing.assert_array_equal(np.stack(table.column("vector").to_numpy(False)), stored)


def test_unknown_ids_are_404_listing_a_few(served, bbc):
    url, _, _ = served
    wanted = [bbc.id[0], *[f"ghost-{i}" for i in range(8)]]
    answer = httpx.get(f"{url}/v1/vectors/news@1.0.0", params={"ids": ",".join(wanted)})
    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert "8 id(s) are not in news@1.0.0" in message and "'ghost-4'" in message
    assert "'ghost-5'" not in message
    empty = httpx.get(f"{url}/v1/vectors/news@1.0.0")
    assert empty.status_code == 400 and "ids=a,b,c" in empty.text
