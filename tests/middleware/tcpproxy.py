#!/usr/bin/env python3
"""tcpproxy.py - a TCP forwarder for the middleware's failover case: one
listening port per "broker node", all forwarding to the one real broker.
Killing the proxy (SIGKILL) drops every connection through it at once and
refuses new ones, as a dead node would, while the broker keeps the queues.

  tcpproxy.py LISTEN_PORT TARGET_HOST TARGET_PORT
Prints "LISTENING <port>" once it accepts connections.
"""

import asyncio
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main():
    port, host, target = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

    async def handle(cr, cw):
        try:
            br, bw = await asyncio.open_connection(host, target)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, bw), pipe(br, cw))

    server = await asyncio.start_server(handle, '127.0.0.1', port)
    print('LISTENING %d' % port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    asyncio.run(main())
