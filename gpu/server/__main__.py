"""Runs the GPU server on its own: `python -m gpu.server --host 0.0.0.0 --port 8100`."""

from __future__ import annotations

import argparse

import uvicorn

from gpu.server.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Skyie GPU inference server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
