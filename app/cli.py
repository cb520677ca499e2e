"""The `docent` command: run the service, or drive a running one through its HTTP API."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.api.main import create_app
    from app.config import Settings

    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    if args.workers:
        overrides["ingest_workers"] = args.workers
    settings = Settings(**overrides)
    app = create_app(settings, preload_models=not args.lazy)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _beir(args: argparse.Namespace) -> int:
    from app.beir_client import run_beir

    ks = [int(part) for part in args.k.split(",") if part.strip()]
    return run_beir(
        base_url=args.url,
        dataset=Path(args.dataset),
        collection_name=args.collection,
        question=args.question,
        split=args.split,
        ks=ks,
        top_k=args.top_k,
        max_tokens=args.max_tokens,
        replace=args.replace,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docent", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--data-dir", help="folder for the database, uploads and indexes (default ./data or DOCENT_DATA_DIR)")
    serve.add_argument("--workers", type=int, help="ingestion threads (default 1 or DOCENT_INGEST_WORKERS)")
    serve.add_argument("--lazy", action="store_true", help="load the models on first use instead of at start")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(handler=_serve)

    beir = commands.add_parser(
        "beir",
        help="upload a BEIR dataset to a running service, ask a question and evaluate retrieval",
    )
    beir.add_argument("dataset", help="folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    beir.add_argument("--url", default="http://127.0.0.1:8000", help="base URL of the service")
    beir.add_argument("--collection", help="collection name (default: the dataset folder's name)")
    beir.add_argument("--question", help="question to ask (default: the first query of the dataset)")
    beir.add_argument("--split", default="test", help="qrels split to evaluate on (default test)")
    beir.add_argument("--k", default="1,3,5,10", help="comma-separated cutoffs (default 1,3,5,10)")
    beir.add_argument("--top-k", type=int, default=4, help="chunks given to the model when asking")
    beir.add_argument("--max-tokens", type=int, default=128, help="maximum answer length in tokens")
    beir.add_argument("--replace", action="store_true", help="delete a collection of the same name first")
    beir.set_defaults(handler=_beir)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("DOCENT_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per HTTP request would bury the progress bar and the results.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # faiss logs a failed import of its AVX2 build at INFO before loading the generic one.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
