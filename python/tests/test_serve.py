"""bookrec.serve: the web app started from Python answers real HTTP requests, then stops."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import bookrec


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["content-type"].startswith("application/json")
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def model_file(svd: bookrec.SVD, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "svd.bkr"
    svd.save(path)
    return path


def test_serves_the_models_recommendations_over_http(
    model_file: Path, svd: bookrec.SVD, demo: bookrec.DemoData
) -> None:
    with bookrec.serve(model_file, books=demo.books_path, port=0) as server:
        assert server.running
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        body = get_json(f"{server.url}/api/users/7/recommendations?n=5")
        assert body["known_user"] is True
        ids = [r["book"]["id"] for r in body["items"]]
        # The server and the Python model share the engine: same top-5 for the same file.
        assert ids == svd.recommend("7", n=5)["book_id"].tolist()
        # The catalogue was loaded: titles come back with the ids.
        assert all(r["book"]["title"] for r in body["items"])
        assert get_json(f"{server.url}/healthz") is not None
    assert not server.running
    # The port is released: nothing accepts connections there any more.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_stop_is_idempotent(model_file: Path) -> None:
    server = bookrec.serve(model_file)
    assert "running" in repr(server)
    server.stop()
    server.stop()
    assert "stopped" in repr(server)


def test_an_unknown_book_is_a_404_naming_it(model_file: Path) -> None:
    with bookrec.serve(model_file) as server:
        try:
            body = get_json(f"{server.url}/api/books/NO-SUCH-BOOK/similar")
        except urllib.error.HTTPError as e:
            assert e.code == 404
            assert "NO-SUCH-BOOK" in e.read().decode()
        else:  # pragma: no cover - the API must not invent neighbours for an unknown book
            pytest.fail(f"unknown book answered 200: {body}")


def test_a_bad_model_file_raises_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken.bkr"
    bad.write_bytes(b"not a model")
    with pytest.raises(RuntimeError, match="broken.bkr"):
        bookrec.serve(bad)


def test_a_busy_port_raises_oserror(model_file: Path) -> None:
    with bookrec.serve(model_file) as server:
        with pytest.raises(OSError, match=str(server.port)):
            bookrec.serve(model_file, port=server.port)


def test_bad_arguments_raise_param_error(model_file: Path) -> None:
    with pytest.raises(bookrec.ParamError):
        bookrec.serve(model_file, host="localhost:80")
    with pytest.raises(bookrec.ParamError):
        bookrec.serve(model_file, threads=0)


@pytest.fixture(scope="module")
def ranker_file(ials: bookrec.ImplicitALS, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ranker") / "ials.bkr"
    ials.save(path)
    return path


def test_a_ranker_orders_the_list_and_the_model_predicts_the_ratings(
    model_file: Path, svd: bookrec.SVD, ials: bookrec.ImplicitALS, ranker_file: Path
) -> None:
    with bookrec.serve(model_file, ranker=ranker_file) as server:
        body = get_json(f"{server.url}/api/users/7/recommendations?n=5&explain=false")
        assert body["ranker"] == "ials"
        assert body["rating_model"] == "svd"
        assert body["score_kind"] == "preference"
        ids = [r["book"]["id"] for r in body["items"]]
        assert ids == ials.recommend("7", n=5)["book_id"].tolist()
        for r in body["items"]:
            assert r["predicted_rating"] == pytest.approx(svd.predict("7", r["book"]["id"]), abs=1e-4)
        own = get_json(f"{server.url}/api/users/7/recommendations?n=5&rank_by=rating")
        assert own["ranker"] == "svd"
        assert [r["book"]["id"] for r in own["items"]] == svd.recommend("7", n=5)["book_id"].tolist()
    # A ranking model cannot supply predicted ratings for another ranker's lists.
    with pytest.raises(RuntimeError, match="does not predict ratings"):
        bookrec.serve(ranker_file, ranker=ranker_file)


def test_min_rating_leaves_out_books_predicted_low(
    model_file: Path, svd: bookrec.SVD, ials: bookrec.ImplicitALS, ranker_file: Path
) -> None:
    ranked = ials.recommend("7", n=60)["book_id"].tolist()
    predicted = {b: svd.predict("7", b) for b in ranked}
    threshold = sorted(predicted[b] for b in ranked[:10])[3]
    want = [b for b in ranked if predicted[b] >= threshold - 1e-4][:10]
    with bookrec.serve(model_file, ranker=ranker_file, min_rating=threshold - 1e-4) as server:
        body = get_json(f"{server.url}/api/users/7/recommendations?n=10&explain=false")
        assert body["min_rating"] == pytest.approx(threshold - 1e-4)
        assert [r["book"]["id"] for r in body["items"]] == want
        assert all(r["predicted_rating"] >= threshold - 1e-4 for r in body["items"])
        # A request may set its own.
        body = get_json(f"{server.url}/api/users/7/recommendations?n=10&explain=false&min_rating=1")
        assert [r["book"]["id"] for r in body["items"]] == ranked[:10]
    with pytest.raises(RuntimeError, match="min_rating must be between 1 and 10"):
        bookrec.serve(model_file, ranker=ranker_file, min_rating=11)
    with pytest.raises(bookrec.ParamError, match="min_rating"):
        bookrec.serve(model_file, min_rating=float("nan"))
