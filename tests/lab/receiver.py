#!/usr/bin/env python3
"""The bounce lab's remote side: an SMTP server that answers each recipient as its scenario says.

A scenario is chosen by the recipient's local part up to its last digit run (`dead1`, `dead2` ->
`dead`); `SCENARIOS` holds the reply to RCPT TO, or to the end of DATA for a scenario refused after
the content. Anything else is accepted. Standard library only (asyncio), so the lab needs no
package beyond the MTAs themselves.

Usage: receiver.py ADDRESS PORT [--size N | --stall | --require-tls]
  --size N        advertise an EHLO SIZE limit of N bytes and refuse anything bigger
  --stall         accept connections and never greet (the sending MTA's timeout ends them)
  --require-tls   refuse MAIL as a server requiring TLS does (STARTTLS itself is not offered)
"""
import argparse
import asyncio
import re

# local part -> (phase, reply). The replies are those real servers send for these cases.
SCENARIOS = {
    "dead": ("rcpt", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    "full": ("rcpt", "552 5.2.2 <{rcpt}>: Mailbox full"),
    "spam": ("rcpt", "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org"),
    "moved": ("rcpt", "551 5.1.6 User has moved; please try <new@example.org>"),
    "disabled": ("rcpt", "550 5.2.1 <{rcpt}>: Mailbox disabled, not accepting messages"),
    "relay": ("rcpt", "554 5.7.1 <{rcpt}>: Relay access denied"),
    "later": ("rcpt", "451 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, please try again later"),
    "quota": ("rcpt", "452 4.2.2 <{rcpt}>: Mailbox over quota"),
    "content": ("data", "554 5.7.1 Message rejected as spam by the content filter"),
}


def scenario(address):
    local = address.split("@", 1)[0].lower()
    return SCENARIOS.get(re.sub(r"\d+$", "", local))


class Session:
    def __init__(self, reader, writer, size, require_tls):
        self.reader, self.writer, self.size, self.require_tls = reader, writer, size, require_tls
        self.rcpts = []

    async def reply(self, line):
        self.writer.write((line + "\r\n").encode())
        await self.writer.drain()

    async def run(self):
        await self.reply("220 rx.lab.example ESMTP lab receiver")
        while True:
            raw = await self.reader.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                if verb == "EHLO":
                    extensions = ["250-rx.lab.example", "250-PIPELINING", "250-8BITMIME"]
                    if self.size:
                        extensions.append(f"250-SIZE {self.size}")
                    for e in extensions:
                        await self.reply(e)
                    await self.reply("250 ENHANCEDSTATUSCODES")
                else:
                    await self.reply("250 rx.lab.example")
            elif verb == "MAIL" and self.require_tls:
                # Postfix's smtpd answer when smtpd_tls_security_level = encrypt.
                await self.reply("530 5.7.0 Must issue a STARTTLS command first")
            elif verb == "MAIL":
                self.rcpts = []
                declared = re.search(r"SIZE=(\d+)", line, re.I)
                if self.size and declared and int(declared.group(1)) > self.size:
                    # As Postfix answers a declared size over its message_size_limit.
                    await self.reply("552 5.3.4 Message size exceeds fixed limit")
                else:
                    await self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                address = re.search(r"<([^>]*)>", line)
                address = address.group(1) if address else ""
                found = scenario(address)
                if found and found[0] == "rcpt":
                    await self.reply(found[1].format(rcpt=address))
                else:
                    self.rcpts.append(address)
                    await self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if not self.rcpts:
                    await self.reply("554 5.5.1 Error: no valid recipients")
                    continue
                await self.reply("354 End data with <CR><LF>.<CR><LF>")
                received = 0
                while True:
                    data = await self.reader.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    received += len(data)
                if self.size and received > self.size:
                    await self.reply("552 5.3.4 Message size exceeds fixed limit")
                    continue
                refused = [scenario(r) for r in self.rcpts]
                refused = [s for s in refused if s and s[0] == "data"]
                if refused:
                    await self.reply(refused[0][1])
                else:
                    await self.reply("250 2.0.0 Ok: queued")
            elif verb == "RSET":
                self.rcpts = []
                await self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                await self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                await self.reply("221 2.0.0 Bye")
                self.writer.close()
                return
            else:
                await self.reply("502 5.5.2 Error: command not recognized")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("port", type=int)
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--stall", action="store_true")
    parser.add_argument("--require-tls", action="store_true")
    args = parser.parse_args()

    async def serve(reader, writer):
        try:
            if args.stall:
                await reader.read()
                return
            await Session(reader, writer, args.size, args.require_tls).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass

    server = await asyncio.start_server(serve, args.address, args.port)
    print(f"listening on {args.address}:{args.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
