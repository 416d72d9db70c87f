#!/usr/bin/env python3
"""An SMS provider for naervaer's tests: a local HTTP server that speaks
Twilio's documented Programmable Messaging API, as the mail tests use a real
SMTP server. It serves POST /2010-04-01/Accounts/{sid}/Messages.json (form
encoded, HTTP Basic authentication with the account SID and auth token),
answers 201 with the message resource as Twilio does, and every error as
Twilio documents it ({"code", "message", "more_info", "status"}): 401/20003
wrong credentials, 400/21211 invalid 'To' number, 400/21614 not a mobile
number, 400/2160x missing fields, 429/20429 too many requests, 500/20500 or
503/20503 server errors. Each accepted message is stored as DIR/N-SID.json
(the form as received and the answer), written then renamed, so a reader
never sees half a message.

Usage: python3 tests/sms_twilio.py PORT --dir DIR [--sid AC.. --token T]
         [--invalid +47..,..] [--not-mobile +47..,..]
         [--rate-limit-suffix 99 --rate-limit-count 2 --retry-after 1]
         [--fail-once-suffix 98 --fail-status 500]
PORT 0 picks a free port. Prints "READY <port>" once listening.
"""
import argparse, base64, json, os, re, secrets, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

PATH_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
E164_RE = re.compile(r"^\+[1-9][0-9]{7,14}$")  # '+' then 8-15 digits, no leading 0
GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
             "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXT = "\x0c^{}\\[~]|€"
MESSAGES = {20003: "Authenticate", 20404: "The requested resource was not found",
            20429: "Too Many Requests", 20500: "Internal Server Error", 20503: "Service Unavailable"}


def num_segments(body):
    if all(c in GSM_BASIC or c in GSM_EXT for c in body):
        units, single, multi = sum(2 if c in GSM_EXT else 1 for c in body), 160, 153
    else:  # UCS-2: count UTF-16 code units
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else -(-units // multi)  # ignores "don't split escapes/surrogates"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply carries Content-Length

    def log_message(self, *a):
        pass

    def reply(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message=None, headers=()):
        self.reply(status, {"code": code, "message": message or MESSAGES[code],
                            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}, headers)

    def do_GET(self):
        self.error(404, 20404)

    def do_POST(self):
        cfg, st = self.server.cfg, self.server.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # always drain the body
        m = PATH_RE.match(self.path.split("?")[0])
        if not m:
            return self.error(404, 20404)
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(f"{cfg.sid}:{cfg.token}".encode()).decode()
        if not secrets.compare_digest(auth.encode(), want.encode()) or m.group(1) != cfg.sid:
            return self.error(401, 20003, headers=[("WWW-Authenticate", 'Basic realm="Twilio API"')])
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        to, frm, mg, body = form.get("To", ""), form.get("From"), form.get("MessagingServiceSid"), form.get("Body", "")
        if not to:
            return self.error(400, 21604, "A 'To' phone number is required.")
        if not frm and not mg:
            return self.error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return self.error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return self.error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if not E164_RE.match(to) or to in cfg.invalid:
            return self.error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in cfg.not_mobile:
            return self.error(400, 21614, f"To number: {to}, is not a mobile number")
        with st["lock"]:
            if cfg.rate_limit_suffix and to.endswith(cfg.rate_limit_suffix):
                st["rl"][to] = st["rl"].get(to, 0) + 1
                if st["rl"][to] <= cfg.rate_limit_count:
                    hdr = [("Retry-After", str(cfg.retry_after))] if cfg.retry_after is not None else []
                    return self.error(429, 20429, headers=hdr)
            if cfg.fail_once_suffix and to.endswith(cfg.fail_once_suffix) and to not in st["failed"]:
                st["failed"].add(to)
                return self.error(cfg.fail_status, 20500 if cfg.fail_status == 500 else 20503)
        sid, now = "SM" + secrets.token_hex(16), time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        uri = f"/2010-04-01/Accounts/{cfg.sid}/Messages/{sid}.json"
        msg = {"account_sid": cfg.sid, "api_version": "2010-04-01", "body": body, "date_created": now,
               "date_sent": None, "date_updated": now, "direction": "outbound-api", "error_code": None,
               "error_message": None, "from": frm, "messaging_service_sid": mg, "num_media": "0",
               "num_segments": "0" if mg else str(num_segments(body)), "price": None, "price_unit": "USD",
               "sid": sid, "status": "accepted" if mg else "queued",
               "subresource_uris": {"media": uri.replace(".json", "/Media.json")}, "to": to, "uri": uri}
        rec = json.dumps({"request": form, "response": msg}, ensure_ascii=False, indent=1)
        fd, tmp = tempfile.mkstemp(dir=cfg.dir, prefix=".tmp-")  # same dir => rename is atomic
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(rec)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(cfg.dir, f"{time.time_ns()}-{sid}.json"))
        self.reply(201, msg)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--dir", required=True)
    p.add_argument("--sid", default="AC" + "0" * 32)
    p.add_argument("--token", default="test-token")
    p.add_argument("--invalid", default="", type=lambda s: {x for x in s.split(",") if x})
    p.add_argument("--not-mobile", default="", type=lambda s: {x for x in s.split(",") if x})
    p.add_argument("--rate-limit-suffix", default="")
    p.add_argument("--rate-limit-count", type=int, default=1)
    p.add_argument("--retry-after", type=int, default=None)  # omit => no Retry-After header (as Twilio)
    p.add_argument("--fail-once-suffix", default="")
    p.add_argument("--fail-status", type=int, choices=(500, 503), default=500)
    cfg = p.parse_args()
    os.makedirs(cfg.dir, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", cfg.port), Handler)
    srv.daemon_threads = True
    srv.cfg, srv.state = cfg, {"lock": threading.Lock(), "rl": {}, "failed": set()}
    print(f"READY {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
