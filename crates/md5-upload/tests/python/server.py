"""Stage-6 upload server, written from SPEC's description the way the classic
tutorial writes it. Serves ONE connection (several files), then exits.

Usage: python3 server.py DIR
Prints "listening on 127.0.0.1:PORT" on stderr first, then "NAME VERDICT" per
file on stdout.
"""
import hashlib
import json
import os
import socket
import struct
import sys


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(min(n - len(data), 65536))
        if not chunk:
            return None if not data else data
        data += chunk
    return data


def main():
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    print("listening on %s:%d" % server.getsockname(), file=sys.stderr, flush=True)
    conn, _ = server.accept()
    conn.settimeout(10)
    while True:
        header = recv_exactly(conn, 4)
        if header is None:
            break
        (info_len,) = struct.unpack("i", header)
        info = json.loads(recv_exactly(conn, info_len).decode("utf-8"))
        name = os.path.basename(info["filename"])
        filesize = info["filesize"]
        md5 = hashlib.md5()
        received = 0
        partial = os.path.join(folder, name + ".part")
        with open(partial, "wb") as f:
            while received < filesize:
                chunk = conn.recv(min(filesize - received, 65536))
                if not chunk:
                    raise ConnectionError("client closed mid-file")
                f.write(chunk)
                md5.update(chunk)
                received += len(chunk)
        conn.sendall(b"OK")
        client_md5 = recv_exactly(conn, 32).decode("ascii")
        if client_md5 == md5.hexdigest():
            os.replace(partial, os.path.join(folder, name))
            verdict = b"203"
        else:
            os.remove(partial)
            verdict = b"204"
        conn.sendall(verdict)
        print(name, verdict.decode(), flush=True)
    conn.close()
    server.close()


if __name__ == "__main__":
    main()
