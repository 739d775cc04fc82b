"""One end of the real node's message-path check (scripts/check-real-node), run in a pod of the
stomp-client image with a component's rendered Secret as its environment.

  send ACCOUNT DESTINATION MARKER   as the PanDA server does (PANDA_ACTIVEMQ_LIST, the account's
                                    PANDA_ACTIVEMQ_PASSWD_<account>): connect, send a job-status
                                    message whose input file is MARKER to DESTINATION with a
                                    receipt; prints "sent" or "refused: <why>"
  send-as-idds DESTINATION MARKER   the iDDS receiver's account sending (a reader only of that queue)

The message has the keys iDDS' receiver reads from PanDA's job-status messages (msg_type, taskid,
jobid, status, inputs); its task is no task of iDDS, so the real receiver logs it and discards it.
Exit 0 when the line was printed (the caller compares it), 1 when the broker could not be reached.
"""

import json
import os
import sys
import threading
import time

import stomp


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.receipts, self.errors = set(), []
        self.event = threading.Event()

    def on_receipt(self, frame):
        self.receipts.add(frame.headers.get("receipt-id"))
        self.event.set()

    def on_error(self, frame):
        self.errors.append(frame.headers.get("message", "") or frame.body)
        self.event.set()


def connect(brokers, user, password):
    host, port = brokers.split(",")[0].rsplit(":", 1)
    conn = stomp.Connection([(host, int(port))], reconnect_attempts_max=1)
    listener = Listener()
    conn.set_listener("", listener)
    for attempt in range(15):  # the policy engine admits a new pod's address a moment after it starts
        try:
            conn.connect(user, password, wait=True)
            return conn, listener
        except stomp.exception.ConnectFailedException as e:
            last = e
            time.sleep(1)
    print("unreachable: %s as %s: %r" % (brokers, user, last))
    sys.exit(1)


def send(brokers, user, password, destination, marker):
    conn, listener = connect(brokers, user, password)
    number = int("".join(c for c in marker if c.isdigit()) or "0")
    body = json.dumps({"msg_type": "job_status", "taskid": number, "jobid": number, "status": "finished",
                       "inputs": [marker], "timestamp": int(time.time())})
    conn.send(destination=destination, body=body, receipt="r-" + marker)
    listener.event.wait(10)
    time.sleep(0.5)  # an ERROR frame after the receipt would still count
    if listener.errors:
        print("refused: " + listener.errors[0].splitlines()[0])
    elif "r-" + marker in listener.receipts:
        print("sent")
    else:
        print("refused: no receipt in 10 s")
    try:
        conn.disconnect()
    except Exception:
        pass


def main(argv):
    env = os.environ
    if argv[:1] == ["send"] and len(argv) == 4:
        account = argv[1]
        send(env["PANDA_ACTIVEMQ_LIST"], account, env["PANDA_ACTIVEMQ_PASSWD_" + account], argv[2], argv[3])
    elif argv[:1] == ["send-as-idds"] and len(argv) == 3:
        send(env["IDDS_RECEIVER_BROKERS"], env["IDDS_RECEIVER_USERNAME"], env["IDDS_RECEIVER_PASSWORD"],
             argv[1], argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
