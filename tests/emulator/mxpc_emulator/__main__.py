"""Command line: mxpc-emulator [--host H] [--port P] --data-dir DIR [--seed FILE] [...]."""

import argparse
import asyncio
import signal
import socket
import ssl
import sys

from aiohttp import web

from .seed import CHOICE_SETTINGS, SeedError, load_seed
from .server import DEFAULT_REQUEST_LOG_LIMIT, Emulator


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="mxpc-emulator",
        description="Emulator of the Mendix for Private Cloud Build API v4 and the Deploy API environment routes.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free port (default 8080)")
    parser.add_argument("--data-dir", required=True, help="folder for the SQLite state and package files; kept across restarts")
    parser.add_argument("--seed", help="seed file (YAML or JSON); without it the built-in demo seed is used")
    parser.add_argument("--build-seconds", type=float, help="how long a build job takes (overrides the seed)")
    parser.add_argument("--upload-seconds", type=float, help="how long an upload job takes after the upload (overrides the seed)")
    parser.add_argument("--delete-seconds", type=float, help="how long a delete job takes (overrides the seed)")
    parser.add_argument("--deploy-seconds", type=float, help="how long an environment update job takes (overrides the seed)")
    parser.add_argument("--start-seconds", type=float,
                        help="how long an app takes to start after a deploy job, Processing then Ready or Failed (overrides the seed)")
    parser.add_argument("--url-ttl-seconds", type=float, help="lifetime of download URLs (overrides the seed)")
    parser.add_argument("--list-order", choices=CHOICE_SETTINGS["list_order"],
                        help="order of package lists: newest first (default), oldest first, or a fixed shuffle")
    parser.add_argument("--max-page-size", type=int,
                        help="serve at most N packages per list page whatever limit asks for (default 50, the spec's maximum)")
    parser.add_argument("--location-version", choices=CHOICE_SETTINGS["location_version"],
                        help="API version in the Location header of a 202: v4 (default) or v3, as the doc's example shows")
    parser.add_argument("--naming", choices=CHOICE_SETTINGS["naming"],
                        help="names of built packages: documented (default) or opaque (<uuid>.mda, <version>.<random>)")
    parser.add_argument("--failed-job-status", choices=CHOICE_SETTINGS["failed_job_status"],
                        help="status of a failed job: failed (default) or created, next to its error, as the spec's example")
    parser.add_argument("--rate-limit", type=int, help="at most N API requests per minute per token, then 429 with Retry-After")
    parser.add_argument("--rate-window", type=float, default=60,
                        help="the rate limit's window in seconds (default 60: N requests per minute)")
    parser.add_argument("--request-log-limit", type=int, default=DEFAULT_REQUEST_LOG_LIMIT,
                        help=f"keep the newest N entries of the request log; 0 keeps all (default {DEFAULT_REQUEST_LOG_LIMIT:,})")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) to serve HTTPS; needs --tls-key")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    args = parser.parse_args(argv)
    if args.max_page_size is not None and args.max_page_size < 1:
        parser.error("--max-page-size is 1 or more")
    if args.rate_window <= 0:
        parser.error("--rate-window is a number of seconds above 0")
    if args.request_log_limit < 0:
        parser.error("--request-log-limit is 0 (keep all) or more")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return args


async def serve(args, seed):
    emulator = Emulator(args.data_dir, seed, rate_limit=args.rate_limit, request_log_limit=args.request_log_limit,
                        rate_window=args.rate_window)
    runner = web.AppRunner(emulator.make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(512)
    ssl_context = None
    if args.tls_cert:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
    site = web.SockSite(runner, sock, ssl_context=ssl_context)
    await site.start()
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    scheme = "https" if ssl_context else "http"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"mxpc-emulator listening on {scheme}://{host}:{port}/api/v4", flush=True)
    await stop.wait()
    await runner.cleanup()


def main(argv=None):
    args = parse_args(argv)
    try:
        seed = load_seed(args.seed)
    except (SeedError, OSError) as exc:
        print(f"mxpc-emulator: {exc}", file=sys.stderr)
        return 2
    for key in ("build_seconds", "upload_seconds", "delete_seconds", "deploy_seconds", "start_seconds", "url_ttl_seconds", "list_order",
                "max_page_size", "location_version", "naming", "failed_job_status"):
        value = getattr(args, key)
        if value is not None:
            seed["settings"][key] = value
    try:
        asyncio.run(serve(args, seed))
    except OSError as exc:
        print(f"mxpc-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
