from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from hub.broker.node import BrokerNode, NodeSpec, alive


def node(tmp_path: Path) -> BrokerNode:
    return BrokerNode(NodeSpec(2, "127.0.0.1", 39094, 39095, tmp_path))


class TestBrokerNode:
    def test_an_own_child_counts_before_it_has_exec_d_java(self, tmp_path: Path) -> None:
        """The JVM this started is running by its process, not by its command line."""
        subject = node(tmp_path)
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        subject._proc = proc
        subject.pid_file.write_text(f"{proc.pid}\n")
        try:
            assert subject.live_pid() == proc.pid
            subject.forget()  # never blocks on a running JVM, and keeps its pid file
            assert subject.pid_file.exists()
        finally:
            proc.kill()
        proc.wait()
        assert subject.live_pid() is None
        subject.forget()
        assert not subject.pid_file.exists()

    def test_a_stranger_is_not_a_broker(self, tmp_path: Path) -> None:
        """A pid file naming a process that does not run kafka.Kafka means stopped."""
        subject = node(tmp_path)
        subject.pid_file.write_text("1\n")
        assert subject.live_pid() is None
        assert not subject.status().running

    def test_cluster_id_comes_from_the_formatted_storage(self, tmp_path: Path) -> None:
        """A node formatted earlier tells the cluster id the others must share."""
        subject = node(tmp_path)
        assert subject.cluster_id() is None
        subject.data_dir.mkdir()
        (subject.data_dir / "meta.properties").write_text(
            "#\nnode.id=2\nversion=1\ncluster.id=AbC-123_x\n"
        )
        assert subject.formatted
        assert subject.cluster_id() == "AbC-123_x"
        assert subject.spec.voter == "2@127.0.0.1:39095"

    def test_a_process_whose_main_thread_exited_is_still_alive(self) -> None:
        """A JVM shutting down on other threads after its main thread ended still runs."""
        code = (
            "import ctypes, threading, time\n"
            "threading.Thread(target=time.sleep, args=(3,)).start()\n"
            "ctypes.CDLL(None).pthread_exit(None)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", code])
        try:
            deadline = time.monotonic() + 10
            while "Z" not in Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[-1][:3]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert alive(proc.pid)
        finally:
            proc.wait(10)
        assert not alive(proc.pid)
