"""course.serve: the real server in a subprocess on 127.0.0.1, real requests, good and bad.

The model is a tiny ONNX graph built with onnx.helper (flatten, matmul, add), so its answers can be
computed here with NumPy, independently of the service, and no PyTorch export is needed.
Every request loop is bounded in count and time.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from course import serve

SHAPE = (3, 4, 4)
SPEC = serve.InputSpec(shape=SHAPE, low=0.0, high=1.0, max_rows=8, max_body_bytes=20_000)
RNG = np.random.default_rng(0)
W = RNG.standard_normal((int(np.prod(SHAPE)), 5)).astype(np.float32)
B = RNG.standard_normal(5).astype(np.float32)


def expected(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x.reshape(len(x), -1) @ W + B


def write_model(path) -> str:
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["x"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "B"], ["logits"]),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", *SHAPE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 5])],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return serve.sha256_file(path)


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *SHAPE), dtype=np.float32)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "linear.onnx"
    return path, write_model(path)


@pytest.fixture(scope="module")
def server(model_file):
    path, digest = model_file
    with serve.Server(path, digest, spec=SPEC, max_batch=16, max_wait_ms=100, startup_timeout=60) as srv:
        yield srv


def post(srv, **kwargs) -> httpx.Response:
    return httpx.post(srv.url + "/predict", timeout=10, **kwargs)


# --------------------------------------------------------------------------- without a server
def test_validate_payload_accepts_good_input_and_ints():
    x = serve.validate_payload({"inputs": images(2).tolist()}, SPEC)
    assert x.dtype == np.float32 and x.shape == (2, *SHAPE)
    ones = serve.validate_payload({"inputs": np.ones((1, *SHAPE), dtype=int).tolist()}, SPEC)
    assert ones.dtype == np.float32 and ones.sum() == np.prod(SHAPE)


@pytest.mark.parametrize(
    "payload, status, words",
    [
        ([1, 2], 422, "JSON object"),
        ({"x": 1}, 422, "JSON object"),
        ({"inputs": []}, 422, "non-empty"),
        ({"inputs": images(1).tolist(), "extra": 1}, 422, "unknown field"),
        ({"inputs": images(1)[:, :2].tolist()}, 422, "expected (n, 3, 4, 4)"),
        ({"inputs": images(1)[0].tolist()}, 422, "expected (n, 3, 4, 4)"),
        ({"inputs": [images(1)[0].tolist(), [[0.5]]]}, 422, "ragged"),
        ({"inputs": np.full((1, *SHAPE), "a").tolist()}, 422, "strings"),
        ({"inputs": np.full((1, *SHAPE), True).tolist()}, 422, "booleans"),
        ({"inputs": np.full((1, *SHAPE), np.nan).tolist()}, 422, "NaN"),
        ({"inputs": np.full((1, *SHAPE), np.inf).tolist()}, 422, "infinite"),
        ({"inputs": np.full((1, *SHAPE), 1.5).tolist()}, 422, "[0.0, 1.0]"),
        ({"inputs": np.full((1, *SHAPE), -0.1).tolist()}, 422, "[0.0, 1.0]"),
        ({"inputs": images(9).tolist()}, 413, "at most 8"),
    ],
)
def test_validate_payload_rejects_with_a_message(payload, status, words):
    with pytest.raises(serve.ValidationError) as info:
        serve.validate_payload(payload, SPEC)
    assert info.value.status == status
    assert words in str(info.value)


def test_verify_model_and_tampering(model_file, tmp_path):
    path, digest = model_file
    assert serve.verify_model(path, digest) == digest
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 1
    bad = tmp_path / "tampered.onnx"
    bad.write_bytes(bytes(raw))
    with pytest.raises(serve.ModelHashError, match="refusing to serve tampered.onnx"):
        serve.verify_model(bad, digest)
    with pytest.raises(ValueError, match="64 hex digits"):
        serve.verify_model(path, "abc")
    with pytest.raises(FileNotFoundError, match="export the model first"):
        serve.sha256_file(tmp_path / "missing.onnx")


def test_percentiles_match_numpy():
    values = np.random.default_rng(1).exponential(size=101)
    p = serve.percentiles(values)
    assert p == {f"p{q}": pytest.approx(float(np.percentile(values, q))) for q in (50, 95, 99)}
    with pytest.raises(ValueError, match="no latencies"):
        serve.percentiles([])


def test_bad_settings_are_refused(model_file):
    with pytest.raises(ValueError, match="positive ints"):
        serve.InputSpec(shape=(3, 0))
    with pytest.raises(ValueError, match="low < high"):
        serve.InputSpec(low=1.0, high=0.0)
    with pytest.raises(ValueError, match="max_batch"):
        serve.create_app(model_file[0], model_file[1], SPEC, max_batch=4)


# --------------------------------------------------------------------------- the real server
def test_server_binds_loopback_and_reports_health(server, model_file):
    assert server.url.startswith("http://127.0.0.1:")
    health = httpx.get(server.url + "/health", timeout=10).json()
    assert health["ready"] is True
    assert health["model"] == "linear.onnx" and health["sha256"] == model_file[1]
    assert health["input_shape"] == ["batch", "3", "4", "4"]


def test_predict_gives_the_models_answer(server):
    x = images(3, seed=5)
    r = post(server, json={"inputs": x.tolist()})
    assert r.status_code == 200, r.text
    body = r.json()
    np.testing.assert_allclose(body["outputs"], expected(x), rtol=1e-5, atol=1e-5)
    assert body["labels"] == expected(x).argmax(1).tolist()


def _nan_body() -> bytes:
    rows = images(1).tolist()
    rows[0][0][0][0] = float("nan")
    return json.dumps({"inputs": rows}).encode()  # json writes NaN, which Python's json also reads


BAD_REQUESTS = {
    "wrong shape": (dict(json={"inputs": images(1)[:, :, :2].tolist()}), 422, "expected (n, 3, 4, 4)"),
    "strings": (dict(json={"inputs": np.full((1, *SHAPE), "0.5").tolist()}), 422, "numbers"),
    "NaN": (dict(content=_nan_body(), headers={"content-type": "application/json"}), 422, "NaN"),
    "Infinity": (dict(content=_nan_body().replace(b"NaN", b"Infinity"), headers={"content-type": "application/json"}), 422, "infinite"),
    "out of range": (dict(json={"inputs": (images(1) * 255).tolist()}), 422, "must lie in [0.0, 1.0]"),
    "too large batch": (dict(json={"inputs": images(9).tolist()}), 413, "at most 8"),
    "too large body": (dict(content=b'{"inputs": [' + b"0.5, " * 10_000 + b"0.5]}", headers={"content-type": "application/json"}), 413, "20000 bytes"),
    "malformed JSON": (dict(content=b'{"inputs": [[[0.5,', headers={"content-type": "application/json"}), 400, "not valid JSON"),
    "wrong content type": (dict(content=json.dumps({"inputs": images(1).tolist()}), headers={"content-type": "text/plain"}), 415, "application/json"),
    "no inputs key": (dict(json={"images": images(1).tolist()}), 422, '"inputs"'),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_get_a_4xx_that_says_what_to_fix(server, case):
    kwargs, status, words = BAD_REQUESTS[case]
    r = post(server, **kwargs)
    assert r.status_code == status, (case, r.status_code, r.text)
    assert words in r.json()["error"], r.json()


def test_server_still_answers_after_bad_requests(server):
    x = images(1, seed=9)
    r = post(server, json={"inputs": x.tolist()})
    assert r.status_code == 200
    assert server.process.poll() is None
    np.testing.assert_allclose(r.json()["outputs"], expected(x), rtol=1e-5, atol=1e-5)


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(server):
    n = 12
    xs = [images(1, seed=100 + i) for i in range(n)]
    before = httpx.get(server.url + "/health", timeout=10).json()
    barrier = threading.Barrier(n)
    answers: dict[int, httpx.Response] = {}

    def send(i: int) -> None:
        with httpx.Client(timeout=20) as client:
            barrier.wait(timeout=20)
            answers[i] = client.post(server.url + "/predict", json={"inputs": xs[i].tolist()})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    after = httpx.get(server.url + "/health", timeout=10).json()
    assert sorted(answers) == list(range(n))
    for i, r in answers.items():
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["outputs"], expected(xs[i]), rtol=1e-5, atol=1e-5)
    requests = after["requests"] - before["requests"]
    calls = after["model_calls"] - before["model_calls"]
    assert requests == n
    assert calls < n, f"{n} concurrent requests took {calls} model calls: the batcher did not group them"


def test_load_test_is_bounded_and_answers_stay_correct(server):
    payloads = [{"inputs": images(1 + i % 3, seed=200 + i).tolist()} for i in range(6)]
    labels = [expected(p["inputs"]).argmax(1).tolist() for p in payloads]
    t0 = time.monotonic()
    result = serve.load_test(server.url + "/predict", payloads, labels, n=60, concurrency=6, time_cap=30)
    assert time.monotonic() - t0 < 45
    assert (result.sent, result.ok, result.wrong, result.errors) == (60, 60, 0, {})
    assert len(result.latencies) == 60 and result.throughput > 0
    assert "requests/s" in str(result) and "p99" in str(result)
    capped = serve.load_test(server.url + "/predict", payloads, labels, n=10_000, concurrency=2, time_cap=0.5)
    assert capped.sent < 10_000 and capped.seconds < 15


def test_load_test_counts_wrong_answers(server):
    payloads = [{"inputs": images(1, seed=300).tolist()}]
    wrong_labels = [[(expected(payloads[0]["inputs"]).argmax(1)[0] + 1) % 5]]
    result = serve.load_test(server.url + "/predict", payloads, wrong_labels, n=5, concurrency=1, time_cap=20)
    assert result.wrong == 5 and result.ok == 0


def test_a_hash_mismatch_refuses_to_serve(model_file, tmp_path):
    path, digest = model_file
    tampered = tmp_path / "tampered.onnx"
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 1  # a bit flip inside the last weight
    tampered.write_bytes(bytes(raw))
    srv = serve.Server(tampered, digest, spec=SPEC, max_batch=16, startup_timeout=60)
    with pytest.raises(serve.ServerError, match="refusing to serve tampered.onnx: its SHA-256 is"):
        srv.start()
    assert srv.process.returncode == 2


def test_sigterm_answers_every_accepted_request(model_file):
    path, digest = model_file
    n = 8
    xs = [images(2, seed=400 + i) for i in range(n)]
    answers: dict[int, httpx.Response] = {}
    # a long max_wait keeps the accepted requests waiting in the queue when SIGTERM arrives
    with serve.Server(path, digest, spec=SPEC, max_batch=64, max_wait_ms=4000, startup_timeout=60) as srv:

        def send(i: int) -> None:
            answers[i] = httpx.post(srv.url + "/predict", json={"inputs": xs[i].tolist()}, timeout=30)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while httpx.get(srv.url + "/health", timeout=5).json()["pending"] < n:
            assert time.monotonic() < deadline, "the requests were never accepted"
            time.sleep(0.02)
        srv.process.send_signal(15)  # SIGTERM, while all n requests wait for their batch
        time.sleep(0.3)
        with pytest.raises(httpx.TransportError):
            httpx.get(srv.url + "/health", timeout=2)  # no new connections once shutting down
        for t in threads:
            t.join(30)
        code = srv.stop()
    # uvicorn re-raises the SIGTERM after its graceful shutdown, so the exit status is -15
    assert code in (0, -15), srv.log()
    assert sorted(answers) == list(range(n))
    for i, r in answers.items():
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["outputs"], expected(xs[i]), rtol=1e-5, atol=1e-5)


def test_server_refuses_a_missing_model(tmp_path):
    srv = serve.Server(tmp_path / "none.onnx", "0" * 64, spec=SPEC, max_batch=16, startup_timeout=60)
    with pytest.raises(serve.ServerError, match="export the model first"):
        srv.start()
