"""Stage 5 upload server, written from SPEC's stage-5 description in the style
of the classic Python tutorial: one recv(1024) for the JSON file info, answer
b'200', then receive exactly filesize bytes. Serves ONE connection (several
files on it), then exits.

usage: python3 put_server.py DIR
Prints "listening on PORT" first (it binds 127.0.0.1:0).
"""
import json
import os
import socket
import sys


def main():
    out_dir = sys.argv[1]
    sk = socket.socket()
    sk.bind(('127.0.0.1', 0))
    sk.listen()
    sk.settimeout(10)
    print('listening on %d' % sk.getsockname()[1], flush=True)
    conn, _ = sk.accept()
    conn.settimeout(10)
    while True:
        info = conn.recv(1024)
        if not info:
            break
        file_info = json.loads(info.decode('utf-8'))
        # basename: the classic server joins whatever it is sent; this one
        # at least stays in its folder.
        filename = os.path.basename(file_info['filename'])
        filesize = file_info['filesize']
        conn.send(b'200')
        remaining = filesize
        with open(os.path.join(out_dir, filename), 'wb') as f:
            while remaining > 0:
                chunk = conn.recv(min(remaining, 4096))
                if not chunk:
                    sys.exit('client closed the connection in the middle of %s' % filename)
                f.write(chunk)
                remaining -= len(chunk)
        print('received %s (%d bytes)' % (filename, filesize), flush=True)
    conn.close()


if __name__ == '__main__':
    main()
