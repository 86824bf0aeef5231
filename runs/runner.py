"""The worker's side of runs: start the processes, read their output, enforce timeouts, cancels and the output cap,
`concurrency` at a time, in one loop with no threads. What a run is in the database is the store's business
(runs.worker); this module knows only processes.

Each process starts in a session of its own, so that a timeout or a cancel kills it with everything it started.
Its stdout and stderr are one stream, read as it comes; sensitive values are masked in it before anything of it is
kept, and only the last `limit` characters are kept (`size` counts them all).
"""

import codecs
import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from runs.choices import RunState

MASK = "••••"
READ_SIZE = 65536
# After a process has exited, how long its output may still arrive (from something it left running) before the
# run ends without it.
EXIT_GRACE_SECONDS = 2.0


class OutputTail:
    """The output as it may be kept: sensitive values masked, the last `limit` characters. A value split between two
    reads is masked too: the last characters that could begin one are held back until more comes or the end."""

    def __init__(self, *, limit: int, secrets: Iterable[str] = ()):
        self.limit = limit
        self.secrets = tuple(secrets)
        self.holdback = max((len(secret) - 1 for secret in self.secrets), default=0)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""
        self.text = ""
        self.size = 0
        self.changed = False

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def _emit(self, text: str) -> None:
        if text:
            self.size += len(text)
            self.text = (self.text + text)[-self.limit :]
            self.changed = True

    def feed(self, data: bytes) -> None:
        self.pending = self._mask(self.pending + self.decoder.decode(data))
        cut = max(len(self.pending) - self.holdback, 0)
        self._emit(self.pending[:cut])
        self.pending = self.pending[cut:]

    def close(self) -> None:
        self._emit(self._mask(self.pending + self.decoder.decode(b"", final=True)))
        self.pending = ""


@dataclass(eq=False)
class Job:
    """One run's process, from its start to its end."""

    run_id: int
    argv: list[str]
    env: dict[str, str]
    cwd: str
    timeout: float
    output: OutputTail
    stdin: bytes | None = None
    process: subprocess.Popen | None = None
    started: float = 0.0
    exited_at: float | None = None
    eof: bool = False
    state: str = ""
    reason: str = ""
    stdin_offset: int = 0
    cleanup: Callable[[], None] = field(default=lambda: None)


class Store:
    """What the runner asks of the database (runs.worker.DatabaseStore); a test may give another."""

    def begin(self, run_id: int) -> Job | None:
        """Take the run (queued → running) and give its job, or None when it is not to run (recorded why)."""
        raise NotImplementedError

    def save_output(self, jobs: list[Job]) -> None:
        """Keep the running jobs' new output (`job.output.changed`), and the heartbeat of each."""
        raise NotImplementedError

    def heartbeat(self, run_ids: list[int]) -> None:
        """The runs still waiting their turn in this task are still this worker's."""
        raise NotImplementedError

    def cancel_requested(self, run_ids: list[int]) -> set[int]:
        raise NotImplementedError

    def finish(self, job: Job, exit_code: int | None) -> None:
        raise NotImplementedError

    def skip(self, run_ids: list[int], reason: str) -> None:
        raise NotImplementedError


STOPPED_AFTER_FAILURE = "Not run: an earlier run of the batch failed and the batch stops at the first failure."
TIMED_OUT = "Stopped after {seconds} s: the release's time limit for a run."
CANCELLED = "Cancelled while it ran: the process was stopped."
COULD_NOT_START = "Could not start: {error}"


def _kill(job: Job) -> None:
    """Stop the process and everything it started (its session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(job.process.pid, signal.SIGKILL)


class Runner:
    """Runs the given runs, `concurrency` at a time; with `stop_on_failure`, the runs not yet started are skipped
    after the first one that does not succeed. `poll` is how long one wait for output lasts, `save_every` how often
    output and heartbeats are written."""

    def __init__(self, store: Store, *, concurrency: int = 1, stop_on_failure: bool = False, save_every: float = 1.0):
        self.store = store
        self.concurrency = max(1, concurrency)
        self.stop_on_failure = stop_on_failure
        self.save_every = save_every
        self.selector = selectors.DefaultSelector()
        self.active: list[Job] = []

    def run(self, run_ids: list[int]) -> None:
        waiting = list(run_ids)
        stopping = False
        last_save = time.monotonic()
        try:
            while waiting or self.active:
                while waiting and not stopping and len(self.active) < self.concurrency:
                    self._start(waiting.pop(0))
                if stopping and waiting:
                    self.store.skip(waiting, STOPPED_AFTER_FAILURE)
                    waiting = []
                self._pump(timeout=0.2 if self.active else 0)
                now = time.monotonic()
                for job in list(self.active):
                    if job.state == "" and now - job.started > job.timeout:
                        job.state, job.reason = RunState.TIMED_OUT, TIMED_OUT.format(seconds=int(job.timeout))
                        _kill(job)
                    if self._ended(job, now):
                        failed = self._finish(job)
                        stopping = stopping or (failed and self.stop_on_failure)
                if now - last_save >= self.save_every:
                    last_save = now
                    self._save(waiting)
        finally:
            # The worker is stopping (SIGTERM twice, an error): nothing it started may outlive it unnoticed.
            for job in self.active:
                _kill(job)
            self.selector.close()

    def _start(self, run_id: int) -> None:
        job = self.store.begin(run_id)
        if job is None:
            return
        try:
            job.process = subprocess.Popen(
                job.argv,
                cwd=job.cwd,
                env=job.env,
                stdin=subprocess.PIPE if job.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as error:
            job.state, job.reason = RunState.FAILED, COULD_NOT_START.format(error=error.strerror or error)
            job.output.close()
            job.cleanup()
            self.store.finish(job, None)
            return
        job.started = time.monotonic()
        os.set_blocking(job.process.stdout.fileno(), False)
        self.selector.register(job.process.stdout, selectors.EVENT_READ, (job, "out"))
        if job.stdin is not None:
            os.set_blocking(job.process.stdin.fileno(), False)
            self.selector.register(job.process.stdin, selectors.EVENT_WRITE, (job, "in"))
        self.active.append(job)

    def _pump(self, timeout: float) -> None:
        if not self.selector.get_map():
            if timeout:
                time.sleep(timeout)  # only processes whose output has ended are left: wait for them to exit
            return
        for key, _ in self.selector.select(timeout):
            job, direction = key.data
            if direction == "out":
                try:
                    data = os.read(key.fd, READ_SIZE)
                except BlockingIOError:
                    continue
                if data:
                    job.output.feed(data)
                else:
                    job.eof = True
                    self.selector.unregister(key.fileobj)
            else:
                self._write_stdin(job, key.fileobj)

    def _write_stdin(self, job: Job, pipe) -> None:
        try:
            written = os.write(pipe.fileno(), job.stdin[job.stdin_offset : job.stdin_offset + READ_SIZE])
            job.stdin_offset += written
        except BlockingIOError:
            return
        except BrokenPipeError:
            job.stdin_offset = len(job.stdin)
        if job.stdin_offset >= len(job.stdin):
            self.selector.unregister(pipe)
            pipe.close()

    def _ended(self, job: Job, now: float) -> bool:
        if job.process.poll() is None:
            return False
        if job.exited_at is None:
            job.exited_at = now
        if not job.eof and now - job.exited_at > EXIT_GRACE_SECONDS:
            _kill(job)  # something the script started still holds the output open
            return True
        return job.eof

    def _finish(self, job: Job) -> bool:
        """Record how the job ended; True when it did not succeed."""
        self.active.remove(job)
        for pipe in (job.process.stdout, job.process.stdin):
            if pipe is not None and not pipe.closed:
                if pipe in {key.fileobj for key in self.selector.get_map().values()}:
                    self.selector.unregister(pipe)
                pipe.close()
        _kill(job)  # anything it left behind in its session
        job.output.close()
        code = job.process.returncode
        if not job.state:
            job.state = RunState.SUCCEEDED if code == 0 else RunState.FAILED
        job.cleanup()
        self.store.finish(job, code)
        return job.state != RunState.SUCCEEDED

    def _save(self, waiting: list[int]) -> None:
        if self.active:
            cancelled = self.store.cancel_requested([job.run_id for job in self.active])
            for job in self.active:
                if job.run_id in cancelled and job.state == "":
                    job.state, job.reason = RunState.CANCELLED, CANCELLED
                    _kill(job)
            self.store.save_output(list(self.active))
        if waiting:
            self.store.heartbeat(waiting)
