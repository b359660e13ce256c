"""A webhook receiver for the bench: HTTP/1.1 with keep-alive on asyncio, answering 204 at once.
It writes one line per delivery: the receive time (unix seconds), the webhook-id and the body's
timestamp. Usage: python webhook_sink.py PORT OUTPUT_FILE"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime

ANSWER = b"HTTP/1.1 204 No Content\r\nconnection: keep-alive\r\n\r\n"


async def main(port: int, output_path: str) -> None:
    output = open(output_path, "a", buffering=1 << 16)  # noqa: SIM115 - open as long as the process

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                received = time.time()
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                stamp = datetime.fromisoformat(json.loads(body)["timestamp"].replace("Z", "+00:00"))
                output.write(f"{received:.6f} {headers.get('webhook-id')} {stamp.timestamp():.6f}\n")
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        while True:
            await asyncio.sleep(0.5)
            output.flush()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
