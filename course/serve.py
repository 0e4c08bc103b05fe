"""A batch-prediction service for an exported ONNX model (lesson 14 builds and explains it).

The service runs the model with ONNX Runtime, so the serving process needs neither PyTorch nor
the model's Python code: only the ``.onnx`` file, whose SHA-256 it checks before serving.

* :func:`sha256_file` and :func:`verify_model` - refuse a model file whose hash is not the expected one;
* :class:`InputSpec` and :func:`validate_payload` - every request is checked (content, shape, dtype,
  finite values, value range, batch size) and bad input gets a 4xx answer that says what to fix;
* :class:`MicroBatcher` - concurrent requests wait up to ``max_wait_ms`` in a queue and run together
  in one model call of at most ``max_batch`` rows;
* :func:`create_app` - the FastAPI app (``/health``, ``/predict``);
* :class:`Server` - start the app with uvicorn in a subprocess on 127.0.0.1 (a free port, a bounded
  wait for ``/health``) and stop it with SIGTERM (graceful: accepted requests are answered);
* :func:`load_test` and :func:`percentiles` - a bounded load test on loopback.

Run it by hand with ``python -m course.serve --model model.onnx --sha256 <hex> --port 8000``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

__all__ = [
    "InputSpec",
    "ValidationError",
    "ModelHashError",
    "sha256_file",
    "verify_model",
    "validate_payload",
    "MicroBatcher",
    "create_app",
    "Server",
    "ServerError",
    "free_port",
    "LoadResult",
    "load_test",
    "percentiles",
]


# ---------------------------------------------------------------------------------------------
# The model file: check its hash before anything else
# ---------------------------------------------------------------------------------------------
class ModelHashError(RuntimeError):
    """The model file is not the one whose hash the service was told to expect."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes as 64 hex digits, read in chunks (big files fit)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}: export the model first or fix the path")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model(path: str | os.PathLike, expected_sha256: str) -> str:
    """Return the file's hash if it equals ``expected_sha256``; raise :class:`ModelHashError` if not."""
    expected = str(expected_sha256).strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise ValueError(f"expected_sha256 must be 64 hex digits (hashlib.sha256(...).hexdigest()), got {expected_sha256!r}")
    actual = sha256_file(path)
    if actual != expected:
        raise ModelHashError(
            f"refusing to serve {Path(path).name}: its SHA-256 is {actual[:12]}..., expected {expected[:12]}... "
            "The file changed since its hash was recorded: re-export the model and pass its new hash."
        )
    return actual


# ---------------------------------------------------------------------------------------------
# Request validation
# ---------------------------------------------------------------------------------------------
class ValidationError(ValueError):
    """Bad input: ``status`` is the HTTP status to answer with, ``str(err)`` says what to fix."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class InputSpec:
    """What one request may send: ``{"inputs": <nested list of shape (n, *shape)>}``."""

    shape: tuple[int, ...] = (3, 32, 32)
    low: float = 0.0
    high: float = 1.0
    max_rows: int = 64  # rows (images) per request
    max_body_bytes: int = 4_000_000

    def __post_init__(self) -> None:
        if not self.shape or any(not isinstance(d, int) or d <= 0 for d in self.shape):
            raise ValueError(f"shape must be a tuple of positive ints (one example, no batch dim), got {self.shape!r}")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"need finite low < high, got low={self.low!r}, high={self.high!r}")
        if self.max_rows < 1 or self.max_body_bytes < 1:
            raise ValueError("max_rows and max_body_bytes must be positive")


def validate_payload(payload: Any, spec: InputSpec) -> np.ndarray:
    """Turn a decoded JSON body into a float32 array of shape ``(n, *spec.shape)``, or raise
    :class:`ValidationError` saying what is wrong and how to fix it."""
    want = f"(n, {', '.join(map(str, spec.shape))})"
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise ValidationError(f'send a JSON object {{"inputs": [...]}} holding a nested list of shape {want}')
    if set(payload) != {"inputs"}:
        extra = sorted(set(payload) - {"inputs"})
        raise ValidationError(f"unknown field(s) {extra}: send only 'inputs'")
    inputs = payload["inputs"]
    if not isinstance(inputs, list) or not inputs:
        raise ValidationError(f"'inputs' must be a non-empty list of shape {want}")
    if len(inputs) > spec.max_rows:
        raise ValidationError(f"batch of {len(inputs)} rows is too large: send at most {spec.max_rows} per request", 413)
    try:
        raw = np.array(inputs)
    except ValueError:
        raw = None
    if raw is None or raw.dtype == object:
        raise ValidationError(f"'inputs' is ragged (rows of different lengths): every row must have shape {spec.shape}")
    if raw.dtype.kind not in "iuf":  # strings ("U"), booleans ("b") and so on
        kind = {"U": "strings", "b": "booleans"}.get(raw.dtype.kind, str(raw.dtype))
        raise ValidationError(f"'inputs' must hold numbers, got {kind}")
    if raw.shape[1:] != spec.shape:
        raise ValidationError(f"'inputs' has shape {tuple(raw.shape)}, expected {want}")
    x = raw.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValidationError(f"'inputs' holds {int((~np.isfinite(x)).sum())} NaN or infinite value(s): send finite numbers")
    lo, hi = float(x.min()), float(x.max())
    if lo < spec.low or hi > spec.high:
        raise ValidationError(f"values must lie in [{spec.low}, {spec.high}], got min {lo:.4g} and max {hi:.4g}")
    return x


# ---------------------------------------------------------------------------------------------
# Micro-batching
# ---------------------------------------------------------------------------------------------
class MicroBatcher:
    """Group concurrent requests into one model call.

    ``await batcher.submit(x)`` puts ``x`` (n rows) in a queue and waits for its own rows of the
    output. One worker task takes the first waiting request, then keeps taking more until the
    batch would exceed ``max_batch`` rows or ``max_wait_ms`` have passed since the first one; it runs
    ``predict`` once on the concatenation (in a thread, so the event loop keeps accepting
    requests) and hands every request its slice.
    """

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray], max_batch: int = 32, max_wait_ms: float = 5.0) -> None:
        if max_batch < 1 or max_wait_ms < 0:
            raise ValueError(f"need max_batch >= 1 and max_wait_ms >= 0, got {max_batch} and {max_wait_ms}")
        self.predict, self.max_batch, self.max_wait = predict, max_batch, max_wait_ms / 1000
        self.queue: asyncio.Queue | None = None
        self.calls = self.requests = self.rows = 0
        self.batch_sizes: list[int] = []  # rows per model call, the last 1000
        self._task: asyncio.Task | None = None
        self._held: tuple[np.ndarray, asyncio.Future] | None = None  # the request that did not fit
        self._waiting = 0  # accepted requests not yet answered

    async def start(self) -> None:
        self.queue = asyncio.Queue()
        self._task = asyncio.create_task(self._worker())

    async def stop(self) -> None:
        """Answer everything still queued, then stop the worker."""
        if self._task is None:
            return
        while not self.queue.empty() or self._held is not None:
            await asyncio.sleep(0.005)
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    @property
    def pending(self) -> int:
        """Requests accepted and not yet answered."""
        return self._waiting

    async def submit(self, x: np.ndarray) -> np.ndarray:
        if self.queue is None:
            raise RuntimeError("the batcher is not running: await batcher.start() first")
        if len(x) > self.max_batch:
            raise ValueError(f"a request of {len(x)} rows cannot fit max_batch={self.max_batch}")
        future = asyncio.get_running_loop().create_future()
        self._waiting += 1
        try:
            await self.queue.put((x, future))
            return await future
        finally:
            self._waiting -= 1

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = self._held or await self.queue.get()
            self._held = None
            batch, rows = [first], len(first[0])
            deadline = loop.time() + self.max_wait
            while rows < self.max_batch:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                if rows + len(item[0]) > self.max_batch:
                    self._held = item  # it starts the next batch
                    break
                batch.append(item)
                rows += len(item[0])
            xs = np.concatenate([x for x, _ in batch])
            try:
                ys = await loop.run_in_executor(None, self.predict, xs)
            except Exception as err:  # the model failed: every waiting request learns it
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(err)
                continue
            self.calls += 1
            self.requests += len(batch)
            self.rows += rows
            self.batch_sizes = (self.batch_sizes + [rows])[-1000:]
            start = 0
            for x, fut in batch:
                if not fut.done():  # the client may have gone away
                    fut.set_result(ys[start : start + len(x)])
                start += len(x)


# ---------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------
def _onnx_predictor(model_path: Path, threads: int) -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def predict(x: np.ndarray) -> np.ndarray:
        return session.run(None, {name: x})[0]

    return predict, {"input": name, "input_shape": [str(d) for d in session.get_inputs()[0].shape]}


def create_app(
    model_path: str | os.PathLike,
    sha256: str,
    spec: InputSpec = InputSpec(),
    max_batch: int = 32,
    max_wait_ms: float = 5.0,
    threads: int = 1,
):
    """The FastAPI app serving ``model_path`` (ONNX). The file's hash is checked here, before the
    app exists: a mismatch raises :class:`ModelHashError` and nothing is served.

    ``POST /predict`` with ``{"inputs": [...]}`` answers ``{"outputs": [[...], ...], "labels": [...]}``
    (the logits and their argmax per row); ``GET /health`` reports the model, its hash and counters.
    """
    model_path = Path(model_path)
    digest = verify_model(model_path, sha256)
    if max_batch < spec.max_rows:
        raise ValueError(f"max_batch ({max_batch}) must be at least spec.max_rows ({spec.max_rows}), or a full request never fits")
    predict, info = _onnx_predictor(model_path, threads)
    batcher = MicroBatcher(predict, max_batch=max_batch, max_wait_ms=max_wait_ms)

    @asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        yield
        await batcher.stop()  # uvicorn calls this after the in-flight requests got their answers

    app = FastAPI(title="Torch Course prediction service", lifespan=lifespan)
    app.state.batcher = batcher

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.get("/health")
    async def health() -> dict:
        return {
            "ready": True,
            "model": model_path.name,
            "sha256": digest,
            **info,
            "spec": asdict(spec),
            "max_batch": max_batch,
            "max_wait_ms": max_wait_ms,
            "requests": batcher.requests,
            "model_calls": batcher.calls,
            "rows": batcher.rows,
            "pending": batcher.pending,
        }

    @app.post("/predict")
    async def predict_endpoint(request: Request):
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return error(415, f"send the body as JSON with the header Content-Type: application/json (got {ctype or 'none'!r})")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > spec.max_body_bytes:
            return error(413, f"body of {int(declared)} bytes is too large: at most {spec.max_body_bytes} bytes (send fewer rows)")
        body = bytearray()
        async for part in request.stream():  # also bounds bodies sent without a Content-Length
            body += part
            if len(body) > spec.max_body_bytes:
                return error(413, f"body is larger than {spec.max_body_bytes} bytes: send fewer rows per request")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            reason = getattr(err, "msg", None) or type(err).__name__
            return error(400, f"the body is not valid JSON ({reason}): send {{\"inputs\": [...]}}")
        try:
            x = validate_payload(payload, spec)
        except ValidationError as err:
            return error(err.status, str(err))
        y = await batcher.submit(x)
        return {"outputs": y.tolist(), "labels": y.argmax(axis=1).tolist()}

    return app


# ---------------------------------------------------------------------------------------------
# Running it: uvicorn in a subprocess
# ---------------------------------------------------------------------------------------------
class ServerError(RuntimeError):
    """The server did not start (its own message and log tail are included)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The child loads this file on its own, not as ``course.serve``: importing the ``course`` package
# would import PyTorch, which the service does not need (start-up would take seconds longer).
_LAUNCH = (
    "import importlib.util, sys; spec = importlib.util.spec_from_file_location('course_serve', sys.argv[1]); "
    "m = importlib.util.module_from_spec(spec); sys.modules['course_serve'] = m; spec.loader.exec_module(m); "
    "sys.exit(m.main(sys.argv[2:]))"
)


class Server:
    """The service in a subprocess: ``with Server(model, sha256) as srv: httpx.post(srv.url + "/predict", ...)``.

    ``start()`` picks a free port on 127.0.0.1, runs this file's :func:`main` and waits at most
    ``startup_timeout`` seconds for ``/health``; if the process exits first (a hash mismatch, a bad
    file) it raises :class:`ServerError` with the process's message. ``stop()`` sends SIGTERM:
    uvicorn stops accepting connections, answers the requests already accepted, then exits.
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        sha256: str,
        spec: InputSpec = InputSpec(),
        max_batch: int = 32,
        max_wait_ms: float = 5.0,
        threads: int = 1,
        startup_timeout: float = 30.0,
    ) -> None:
        self.model_path, self.sha256, self.spec = Path(model_path), sha256, spec
        self.max_batch, self.max_wait_ms, self.threads = max_batch, max_wait_ms, threads
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._log_file = None
        self._log_text = ""  # the log of a stopped server (its temporary file is removed)

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerError("the server is not running: call start() first")
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        """Everything the server printed so far (uvicorn's log and any error)."""
        if self._log_file is None:
            return self._log_text
        self._log_file.flush()
        return Path(self._log_file.name).read_text(errors="replace")

    def start(self) -> "Server":
        import httpx

        if self.process is not None and self.process.poll() is None:
            return self
        self.port = free_port()
        self._close_log()
        self._log_file = tempfile.NamedTemporaryFile("w+", prefix="course-serve-", suffix=".log", delete=False)
        cmd = [
            sys.executable, "-c", _LAUNCH, __file__, "--model", str(self.model_path), "--sha256", self.sha256,
            "--port", str(self.port), "--max-batch", str(self.max_batch), "--max-wait-ms", str(self.max_wait_ms),
            "--threads", str(self.threads), "--spec", json.dumps(asdict(self.spec)),
        ]
        self.process = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                lines = [line for line in self.log().strip().splitlines() if line.strip()]
                reason = lines[-1] if lines else "no output"
                self._close_log()
                raise ServerError(f"the server exited with code {self.process.returncode} before it was ready: {reason}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"the server was not ready within {self.startup_timeout} s; its log ends with: {self.log()[-500:]}")

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then wait up to ``timeout`` s (SIGKILL after that). Returns the exit code: ``-15``
        after a graceful shutdown (uvicorn re-raises the SIGTERM it handled), ``-9`` if it had to be killed."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._close_log()
        return self.process.returncode

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_text = self.log()
            self._log_file.close()
            Path(self._log_file.name).unlink(missing_ok=True)
            self._log_file = None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------
# A bounded load test
# ---------------------------------------------------------------------------------------------
def percentiles(latencies: Sequence[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` with numpy's default (linear interpolation) method."""
    values = np.asarray(latencies, dtype=float)
    if values.size == 0:
        raise ValueError("no latencies to summarise: did every request fail?")
    return {f"p{q:g}": float(np.percentile(values, q)) for q in qs}


@dataclass
class LoadResult:
    """What :func:`load_test` measured. ``latencies`` are seconds per successful request."""

    sent: int
    ok: int
    wrong: int
    errors: dict[str, int]
    seconds: float
    latencies: list[float] = field(repr=False)

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        p = percentiles(self.latencies) if self.latencies else {}
        lat = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in p.items())
        return (f"{self.sent} requests in {self.seconds:.2f} s: {self.ok} ok, {self.wrong} wrong answers, "
                f"errors {self.errors or 'none'}; {self.throughput:.0f} requests/s; latency {lat}")


def load_test(
    url: str,
    payloads: Sequence[dict],
    expected: Sequence[Any] | None = None,
    n: int = 200,
    concurrency: int = 8,
    time_cap: float = 20.0,
    timeout: float = 10.0,
) -> LoadResult:
    """Send ``n`` POST requests to ``url`` from ``concurrency`` threads, cycling through ``payloads``;
    stop sending after ``time_cap`` seconds. With ``expected`` (one ``labels`` list per payload) every
    answer is checked, so a service that answers fast but wrong does not pass."""
    import httpx

    if n < 1 or concurrency < 1 or time_cap <= 0:
        raise ValueError(f"need n >= 1, concurrency >= 1 and time_cap > 0, got {n}, {concurrency}, {time_cap}")
    if not payloads:
        raise ValueError("payloads is empty: give at least one request body")
    lock = threading.Lock()
    counter = iter(range(n))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    state = {"sent": 0, "wrong": 0}
    start = time.perf_counter()
    deadline = start + time_cap

    def worker() -> None:
        with httpx.Client(timeout=timeout) as client:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                try:
                    r = client.post(url, json=payloads[i % len(payloads)])
                    status = str(r.status_code)
                except httpx.HTTPError as err:
                    r, status = None, type(err).__name__
                dt = time.perf_counter() - t0
                with lock:
                    state["sent"] += 1
                    if r is not None and r.status_code == 200:
                        if expected is not None and r.json()["labels"] != list(expected[i % len(payloads)]):
                            state["wrong"] += 1
                        else:
                            latencies.append(dt)
                    else:
                        errors[status] = errors.get(status, 0) + 1

    with ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(worker) for _ in range(concurrency)]:
            f.result()
    return LoadResult(state["sent"], len(latencies), state["wrong"], errors, time.perf_counter() - start, latencies)


# ---------------------------------------------------------------------------------------------
# Command line: python -m course.serve --model m.onnx --sha256 <hex> --port 8000
# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m course.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the .onnx file (one file: export with external_data=False)")
    parser.add_argument("--sha256", required=True, help="the model file's expected SHA-256 (64 hex digits)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    parser.add_argument("--spec", default=None, help="InputSpec fields as JSON")
    args = parser.parse_args(argv)
    spec = InputSpec(**{k: tuple(v) if k == "shape" else v for k, v in json.loads(args.spec).items()}) if args.spec else InputSpec()
    try:
        app = create_app(args.model, args.sha256, spec, args.max_batch, args.max_wait_ms, args.threads)
    except (ModelHashError, FileNotFoundError, ValueError) as err:
        print(f"course.serve: {err}", file=sys.stderr, flush=True)
        return 2
    # 127.0.0.1 only: this service is for this machine. timeout_graceful_shutdown bounds the wait
    # for in-flight requests after SIGTERM.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", timeout_graceful_shutdown=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
