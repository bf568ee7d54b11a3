"""`--profile`: py-spy samples the server during measure 1; where its time went."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from ._harness import die_with_parent, say

PY_SPY = Path(sys.executable).with_name("py-spy")


class Profiler:
    """`py-spy record` against the server for the measured run, collapsed stacks to a file.

    Non-blocking sampling: the server is never paused, but stacks read while they
    change come out truncated ("(partial stack)" below), and py-spy takes CPU of
    its own: take the figures from a run without --profile.
    """

    def __init__(self, pid: int, output: Path) -> None:
        self.output = output
        command = [
            str(PY_SPY), "record", "--pid", str(pid), "--rate", "200", "--nonblocking", "--threads",
            "--format", "raw", "--output", str(output),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )

    def stop(self) -> None:
        """SIGINT makes py-spy write its output and exit."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


# Leaf frames of a thread that waits (py-spy's idle detection does not work in --nonblocking mode).
_IDLE_LEAVES = re.compile(
    r"^(EpollSelector\.select|_worker \(concurrent"
    r"|Condition\.wait|Event\.wait|Queue\.get|sleep|wait \(threading)"
)


def _no_line(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame)


def _task_of(frames: list[str]) -> str:
    """What a busy sample of the event loop thread was doing: the coroutine the loop
    was stepping (the frame just under `Handle._run`) and the innermost of our functions."""
    runs = [i for i, frame in enumerate(frames) if frame.startswith("Handle._run ")]
    if not runs:
        return "event loop itself" if frames[0].startswith("_run_module_as_main") else "(partial stack)"
    below = frames[runs[-1] + 1 :]
    if not below:
        return "event loop callbacks"
    ours = [frame for frame in below[1:] if "orchestration/" in frame]
    return _no_line(below[0]) + (f" > {_no_line(ours[-1])}" if ours else "")


def print_profile(path: Path, top: int = 12) -> None:
    """Where the server's time went, from py-spy's collapsed stacks (`--threads`).

    The main thread runs the event loop, hence every coroutine: its busy samples
    are attributed to their leaf function and to what they were doing (see
    `_task_of`). Other threads: their busy leaves.
    """
    loop_total = loop_idle = other_busy = 0
    loop_self: Counter[str] = Counter()
    loop_task: Counter[str] = Counter()
    other_self: Counter[str] = Counter()
    for line in path.read_text().splitlines() if path.exists() else []:
        stack, _, count_text = line.rpartition(" ")
        thread, *frames = stack.split(";")
        if not frames or not count_text.isdigit():
            continue
        count, leaf = int(count_text), frames[-1]
        if not thread.endswith(": MainThread"):
            if not _IDLE_LEAVES.match(leaf):
                other_busy += count
                other_self[leaf] += count
            continue
        loop_total += count
        if _IDLE_LEAVES.match(leaf):
            loop_idle += count
            continue
        loop_self[_no_line(leaf)] += count
        loop_task[_task_of(frames)] += count
    if not loop_total:
        say("profile: no samples")
        return
    busy = loop_total - loop_idle
    say(f"profile ({path}): the event loop thread was busy in {busy / loop_total * 100:.0f}% of {loop_total} samples")
    say("profile: its busy samples by task (coroutine stepped > innermost orchestration function)")
    for name, count in loop_task.most_common(top):
        say(f"    {count / busy * 100:5.1f}%  {name[:150]}")
    say("profile: its busy samples by leaf function")
    for name, count in loop_self.most_common(top):
        say(f"    {count / busy * 100:5.1f}%  {name[:150]}")
    say(f"profile: other threads were busy {other_busy / loop_total:.2f} thread-equivalents; by leaf")
    for name, count in other_self.most_common(top):
        say(f"    {count / max(other_busy, 1) * 100:5.1f}%  {name[:150]}")
