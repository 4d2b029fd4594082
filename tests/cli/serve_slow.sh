# Slow clients: with request_timeout 2 (and the idle timeout at 30 s), a
# client that sends a header byte every 0.3 s, or its body a byte every
# 0.3 s, never idles for 30 s; it is cut off about 2 s after it connected
# (the check runs every 0.25 s: closed between 1.5 and 4 s), nothing of
# its batch is stored, and a normal request meanwhile is answered at once.
# The same for a second request trickled on a connection after an answer.
# A keep-alive connection with three requests 1.5 s apart (the third at
# 3 s, past a deadline counted from the connection's start) is not cut:
# the deadline starts again at each answer.
. "$(dirname "$0")/lib.inc"
command -v python3 >/dev/null || fail "python3 is required"
new_store write
WK=$KEY
printf 'request_timeout: 2\ntimeout: 30\nlog_level: warn\n' >"$TMP/serve.yaml"
serve_start "$S" "" --config "$TMP/serve.yaml"

say "a header trickled, a body trickled: both cut off after about 2 s; /healthz answered meanwhile"
python3 - "$PORT" "$WK" >"$TMP/slow.txt" <<'PY' || fail "slow clients: $(cat "$TMP/slow.txt")"
import base64, socket, sys, threading, time
port, key = int(sys.argv[1]), sys.argv[2]
auth = base64.b64encode((key + ":").encode()).decode()
body = ('{"batch":[{"type":"track","userId":"slow","event":"e","context":{"groupId":"a"},'
        '"messageId":"slow-1","timestamp":"2026-03-02T12:00:00Z"}]}').encode()
res = {}

def drip(s, rest, t0):
    """sends rest a byte every 0.3 s (for at most 8 s); the seconds since t0
    when the server closed the connection, or None"""
    for b in rest:
        try:
            s.sendall(bytes([b]))
            s.settimeout(0.3)
            if s.recv(4096) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            pass
        except OSError:
            return time.monotonic() - t0
        if time.monotonic() - t0 > 8:
            return None
    return None

def healthz(s):
    """GET /healthz on the open connection s: True when answered 200 ok"""
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    ans = b""
    while not ans.endswith(b"ok\n"):
        d = s.recv(4096)
        if not d: break
        ans += d
    return ans.startswith(b"HTTP/1.1 200") and ans.endswith(b"ok\n")

def trickle(name, head, rest):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.monotonic()
    s.sendall(head)
    res[name] = drip(s, rest, t0)
    s.close()

hdr = ("POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n" % auth).encode()
a = threading.Thread(target=trickle, args=("headers", b"POST /v1/batch HTTP/1.1\r\nHost: x\r\n",
                                           b"X-Padding: " + b"a" * 100))
b = threading.Thread(target=trickle, args=("body", hdr + b"Content-Length: %d\r\n\r\n" % len(body), body))
a.start(); b.start()
time.sleep(0.5)
t0 = time.monotonic()
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
ans = b""
while True:
    d = c.recv(4096)
    if not d: break
    ans += d
c.close()
if not ans.startswith(b"HTTP/1.1 200") or time.monotonic() - t0 > 1:
    sys.exit("/healthz beside the slow clients: %r after %.2f s" % (ans[:40], time.monotonic() - t0))
a.join(); b.join()
for name in ("headers", "body"):
    t = res.get(name)
    if t is None or not 1.5 <= t <= 4:
        sys.exit("%s trickled: closed after %s s, expected 1.5 to 4" % (name, t))
    print("%s closed after %.2f s" % (name, t))

# keep-alive: three requests 1.5 s apart on one connection, all answered
s = socket.create_connection(("127.0.0.1", port), timeout=5)
got = []
for i in range(3):
    got.append(healthz(s))
    if i < 2:
        time.sleep(1.5)
s.close()
if got != [True, True, True]:
    sys.exit("keep-alive with 1.5 s between requests: %r" % got)
print("keep-alive: three requests 1.5 s apart answered")

# keep-alive, then slow: an answer, then the next request trickled: cut
# about 2 s after that answer
s = socket.create_connection(("127.0.0.1", port), timeout=5)
if not healthz(s):
    sys.exit("the first request of the connection was not answered")
closed = drip(s, b"GET /healthz HTTP/1.1\r\nX-Padding: " + b"a" * 100, time.monotonic())
s.close()
if closed is None or not 1.5 <= closed <= 4:
    sys.exit("a second request trickled after an answer: closed after %s s, expected 1.5 to 4" % closed)
print("a second request trickled after an answer: closed after %.2f s" % closed)
PY
sed 's/^/    /' "$TMP/slow.txt"

say "/metrics counts the three; the log says why; nothing was stored"
curl -s -m 5 -o "$TMP/metrics" "http://127.0.0.1:$PORT/metrics" || fail "/metrics"
expect_eq "$(awk '$1 == "uptake_http_slow_closed_total" { print $2 }' "$TMP/metrics")" 3 "uptake_http_slow_closed_total"
serve_stop
expect_grep "did not arrive in full within 2 s (request_timeout)" "$SERVE_LOG" "the log line"
expect_eq "$(stored_events "$S")" 0 "events stored"
echo "ok $TEST_NAME"
