"""Stage-6 upload client, written from SPEC's description the way the classic
tutorial writes it: struct.pack("i") for the header, json for the file info,
hashlib.md5 while sending.

Usage: python3 client.py HOST PORT FILE...
Prints "NAME VERDICT" per file; exits 0 only if every file got 203.
"""
import hashlib
import json
import os
import socket
import struct
import sys


def recv_exactly(sock, n):
    """Read exactly n bytes: recv may return fewer than asked."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("server closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def put(sock, path):
    filesize = os.path.getsize(path)
    info = {"action": "put", "filename": os.path.basename(path), "filesize": filesize}
    info_bytes = json.dumps(info).encode("utf-8")
    sock.sendall(struct.pack("i", len(info_bytes)))
    sock.sendall(info_bytes)
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(65536)
            if not chunk:
                break
            sock.sendall(chunk)
            md5.update(chunk)
    ok = recv_exactly(sock, 2)
    if ok != b"OK":
        raise ValueError("expected OK, got %r" % ok)
    sock.sendall(md5.hexdigest().encode("ascii"))
    return recv_exactly(sock, 3).decode("ascii", "replace")


def main():
    host, port, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect((host, port))
    all_ok = True
    for path in paths:
        verdict = put(sock, path)
        print(os.path.basename(path), verdict, flush=True)
        all_ok = all_ok and verdict == "203"
    sock.close()
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
