"""Stage 5 upload client, written from SPEC's stage-5 description in the style
of the classic Python tutorial: for each file, send the JSON file info (no
length prefix), wait for b'200', then send the file's bytes. Several files on
one connection.

usage: python3 put_client.py HOST PORT FILE...
"""
import json
import os
import socket
import sys


def recv_exactly(sock, n):
    """The answer is 3 bytes; even 3 bytes may arrive in pieces."""
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def main():
    host, port, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    sk = socket.socket()
    sk.settimeout(10)
    sk.connect((host, port))
    for path in paths:
        filename = os.path.basename(path)
        filesize = os.path.getsize(path)
        # json.dumps as the classic client writes it: with spaces, non-ASCII escaped.
        file_info = {'action': 'put', 'filename': filename, 'filesize': filesize}
        sk.sendall(json.dumps(file_info).encode('utf-8'))
        ret = recv_exactly(sk, 3)
        if ret != b'200':
            print('server answered %r for %s' % (ret, filename), file=sys.stderr)
            sys.exit(1)
        with open(path, 'rb') as f:
            while True:
                chunk = f.read(4096)
                if not chunk:
                    break
                sk.sendall(chunk)
        print('uploaded %s (%d bytes)' % (filename, filesize), flush=True)
    sk.close()


if __name__ == '__main__':
    main()
