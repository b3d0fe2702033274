#!/usr/bin/env python3
"""The outside package (Samples/Lending), as a user would run it: `lending serve` on a SQLite file,
a command over HTTP (accepted, then rejected), the read model read back, a command through `lending
send` in another process, and `lending projections rebuild` of its read model.

Usage: check_lending.py path/to/lending
"""
import json, os, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

binary = sys.argv[1]
work = tempfile.mkdtemp(prefix="lending-")
database = os.path.join(work, "lending.sqlite")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
base = f"http://127.0.0.1:{port}"


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


log = open(os.path.join(work, "serve.log"), "w")
server = subprocess.Popen([binary, "serve", "--database", database, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
try:
    deadline = time.time() + 60
    while True:
        try:
            if call("GET", "/health/ready")[0] == 200:
                break
        except OSError:
            pass
        if time.time() > deadline or server.poll() is not None:
            sys.exit("FAILED: lending serve did not become ready:\n" + open(log.name).read())
        time.sleep(0.1)

    status, body = call("POST", "/lending/books/moby-dick/lend", {"reader": "ada"})
    check(status == 200 and body["events"] == ["BookLent"], f"a book is lent over HTTP (200 BookLent): {status} {body}")
    position = body["position"]
    status, loans = call("GET", f"/lending/loans?after={position}")
    check(status == 200 and loans == [{"book_id": "moby-dick", "reader": "ada"}], f"the read model shows the loan: {loans}")
    status, body = call("POST", "/lending/books/moby-dick/lend", {"reader": "bob"})
    check(status == 422 and "lent to ada" in body["error"], f"lending it again is a rejection (422): {status} {body}")
    status, body = call("POST", "/commands/LendBook", {"book_id": "ulysses"})
    check(status == 400 and "reader is missing" in body["error"], f"a command without a field is a 400 naming it: {status} {body}")

    sent = subprocess.run([binary, "send", "ReturnBook", '{"book_id": "moby-dick"}', "--database", database],
                          capture_output=True, text=True, timeout=120)
    answer = json.loads(sent.stdout or "{}")
    check(sent.returncode == 0 and answer.get("events") == ["BookReturned"], f"`lending send` returns it from another process: {sent.returncode} {sent.stdout} {sent.stderr}")
    status, loans = call("GET", f"/lending/loans?after={answer['position']}")
    check(status == 200 and loans == [], f"the read model follows the other process's event: {loans}")

    rebuilt = subprocess.run([binary, "projections", "rebuild", "lending_loans", "--database", database],
                             capture_output=True, text=True, timeout=120)
    check(rebuilt.returncode == 0 and "rebuilt lending_loans" in rebuilt.stdout, f"`lending projections rebuild` knows the read model: {rebuilt.stdout} {rebuilt.stderr}")
finally:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
print("the outside package serves, takes commands and answers its read model")
