"""Drives a real 3-replica cluster through a Python client generated from openapi.yaml.

The client comes from openapi-python-client (its HTTP library is httpx). Such a client drops
`Authorization` when a redirect crosses origins, so through a follower it must send
`Prefer: forward` (set once, on the client) to get its writes done. Run by `make test`
(`make python-client-test`) with the generated package on sys.path and CHATD naming the binary.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.environ.get("CHAT_API_CLIENT_DIR", ".build-python"))

from chat_api_client import AuthenticatedClient, Client  # noqa: E402
from chat_api_client.api.default import (  # noqa: E402
    acknowledge_inbox, create_account, create_session, delete_account, delete_current_session,
    get_cluster_status, get_health, get_readiness, list_accounts, read_inbox, send_message,
)
from chat_api_client.models import AcknowledgeRequest, Credentials, SendMessageRequest  # noqa: E402

CHATD = os.environ.get("CHATD", ".build/debug/chatd")
SECRET = "python-client-test-secret"
FORWARD = {"Prefer": "forward"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # a replica that is down or starting: try again
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


class Cluster:
    """Three chatd processes on loopback, each with a data directory of its own."""

    def __init__(self, size=3):
        self.root = tempfile.mkdtemp(prefix="chat-python-")
        self.ports = {i: free_port() for i in range(1, size + 1)}
        peers = ",".join(f"{i}=http://127.0.0.1:{p}" for i, p in self.ports.items())
        self.processes = {}
        for i in self.ports:
            log = open(os.path.join(self.root, f"{i}.log"), "w")
            self.processes[i] = subprocess.Popen(
                [CHATD, "--id", str(i), "--peers", peers, "--data-dir", os.path.join(self.root, str(i)),
                 "--cluster-secret", SECRET, "--insecure-password-rounds", "1000", "--log-level", "warning",
                 "--tick-ms", "30", "--election-ticks", "10", "--exit-with-parent"],
                stdout=log, stderr=log)

    def url(self, i):
        return f"http://127.0.0.1:{self.ports[i]}"

    def leader(self, among=None):
        def find():
            for i in among or self.processes:
                status = get_cluster_status.sync(client=Client(base_url=self.url(i), timeout=2))
                if status is not None and str(status.role) == "leader":
                    return i
            return None
        return wait_until(find, 15, "a leader is elected")

    def kill(self, i):
        self.processes[i].kill()
        self.processes[i].wait()

    def stop(self):
        for process in self.processes.values():
            process.kill()
            process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class GeneratedClientTests(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster()
        self.leader = self.cluster.leader()
        self.followers = [i for i in self.cluster.processes if i != self.leader]

    def tearDown(self):
        self.cluster.stop()

    def drive_every_operation(self, base_url, headers, forwarded):
        """Every operation of the API, in the order a user meets them."""
        def expect(response, status, what):
            self.assertEqual(response.status_code, status, f"{what}: {response.content!r}")
            applied = response.headers.get("Preference-Applied")
            if forwarded is not None:
                self.assertEqual(applied, "forward" if forwarded else None, f"{what}: Preference-Applied")

        anonymous = Client(base_url=base_url, headers=headers, timeout=10)
        for name in ("alice", "bob"):
            expect(create_account.sync_detailed(
                client=anonymous, body=Credentials(username=name, password="password123")), 201, "sign-up")
        login = create_session.sync_detailed(client=anonymous, body=Credentials(username="alice", password="password123"))
        expect(login, 201, "log-in")
        alice = AuthenticatedClient(base_url=base_url, token=login.parsed.token, headers=headers, timeout=10)
        for body in ("one", "two"):
            sent = send_message.sync_detailed(client=alice, body=SendMessageRequest(to="alice", body=body),
                                              idempotency_key=f"key-{body}")
            expect(sent, 201, "send")
        replay = send_message.sync_detailed(client=alice, body=SendMessageRequest(to="alice", body="two"),
                                            idempotency_key="key-two")
        expect(replay, 201, "a retried send")
        self.assertEqual(replay.parsed.id, sent.parsed.id, "a retry with the same key must replay the first answer")

        page = list_accounts.sync_detailed(client=alice, pattern="*")
        self.assertEqual(page.status_code, 200)
        self.assertEqual([a.username for a in page.parsed.accounts], ["alice", "bob"])
        inbox = read_inbox.sync_detailed(client=alice)
        self.assertEqual(inbox.status_code, 200)
        self.assertEqual([m.body for m in inbox.parsed.messages], ["one", "two"])
        expect(acknowledge_inbox.sync_detailed(client=alice, body=AcknowledgeRequest(up_to=inbox.parsed.next_after)),
               200, "ack")
        self.assertEqual(read_inbox.sync_detailed(client=alice).parsed.messages, [])
        expect(delete_account.sync_detailed(client=alice, username="bob"), 403, "deleting another's account")
        expect(delete_current_session.sync_detailed(client=alice), 204, "log-out")
        self.assertEqual(read_inbox.sync_detailed(client=alice).status_code, 401, "a logged-out token must be refused")
        again = create_session.sync_detailed(client=anonymous, body=Credentials(username="alice", password="password123"))
        alice = AuthenticatedClient(base_url=base_url, token=again.parsed.token, headers=headers, timeout=10)
        expect(delete_account.sync_detailed(client=alice, username="alice"), 204, "deleting one's own account")
        for operation in (get_health, get_readiness, get_cluster_status):
            self.assertEqual(operation.sync_detailed(client=anonymous).status_code, 200, operation.__name__)

    def test_every_operation_through_the_leader_without_the_preference(self):
        self.drive_every_operation(self.cluster.url(self.leader), {}, forwarded=False)

    def test_every_operation_through_a_follower_with_prefer_forward(self):
        self.drive_every_operation(self.cluster.url(self.followers[0]), FORWARD, forwarded=True)

    def test_without_the_preference_a_follower_redirects_writes(self):
        client = Client(base_url=self.cluster.url(self.followers[0]), timeout=10)
        answer = create_account.sync_detailed(client=client, body=Credentials(username="carol", password="password123"))
        self.assertEqual(answer.status_code, 307)
        self.assertEqual(answer.parsed.error.code, "not_leader")
        self.assertIn("Prefer: forward", answer.parsed.error.message)

    def test_writes_go_on_through_a_follower_when_the_leader_is_killed(self):
        anonymous = Client(base_url=self.cluster.url(self.followers[0]), headers=FORWARD, timeout=10)
        create_account.sync_detailed(client=anonymous, body=Credentials(username="alice", password="password123"))
        token = create_session.sync_detailed(
            client=anonymous, body=Credentials(username="alice", password="password123")).parsed.token
        clients = [AuthenticatedClient(base_url=self.cluster.url(i), token=token, headers=FORWARD, timeout=10)
                   for i in self.followers]
        expected = [f"message {n}" for n in range(30)]
        attempts = 0
        for n, body in enumerate(expected):
            if n == 10:
                self.cluster.kill(self.leader)

            def send():
                # A retry may go to the other follower; the key keeps it one message.
                nonlocal attempts
                client = clients[attempts % len(clients)]
                attempts += 1
                answer = send_message.sync_detailed(
                    client=client, body=SendMessageRequest(to="alice", body=body), idempotency_key=f"m-{n}")
                return answer.status_code == 201
            wait_until(send, 15, f"sending {body!r} through a surviving follower")
        # A follower now carries a keyed send over to the next leader itself, so the death may
        # cost the client no retry at all; a surviving follower leading shows the kill happened.
        self.assertIn(self.cluster.leader(among=self.followers), self.followers, "no surviving follower took over")
        reader = clients[0]
        bodies = []
        after = 0
        while True:
            page = read_inbox.sync_detailed(client=reader, after=after, limit=100).parsed
            if not page.messages:
                break
            bodies += [m.body for m in page.messages]
            after = page.next_after
        self.assertEqual(bodies, expected, "every message exactly once, in order")


if __name__ == "__main__":
    unittest.main(verbosity=2)
